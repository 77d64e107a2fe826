import { createReadStream } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newBlobId, type BlobMeta, type BlobStore, type StoredBlob } from '../blob-store.port';

const SAFE = /^[A-Za-z0-9._-]{1,200}$/;
/** Tenant and owner ids name folders: anything but plain names is hashed away by encoding. */
const segment = (value: string) => (SAFE.test(value) && value !== '.' && value !== '..' ? value : `~${Buffer.from(value).toString('base64url')}`);

/**
 * The embedded mode's blobs, in a folder beside the SQLite log:
 * `<tenant>/owners/<owner>/<id>` holds the bytes, `<tenant>/ids/<id>.json` the
 * metadata (and so the owner), so a read is by id and an erasure is one folder.
 */
export class FileSystemBlobStore implements BlobStore {
  constructor(private readonly dir: string) {}

  async put(meta: Omit<BlobMeta, 'sizeBytes'>, bytes: Buffer, given?: string): Promise<StoredBlob> {
    const id = given ?? newBlobId();
    const full: BlobMeta = { ...meta, sizeBytes: bytes.length };
    const tenant = join(this.dir, segment(meta.tenantId));
    const owner = join(tenant, 'owners', segment(meta.ownerId));
    await mkdir(owner, { recursive: true });
    await mkdir(join(tenant, 'ids'), { recursive: true });
    // The bytes first: the metadata names a blob only once it is whole.
    await writeFile(join(owner, id), bytes);
    await writeFile(join(tenant, 'ids', `${id}.json`), JSON.stringify(full));
    return { id, meta: full };
  }

  async get(tenantId: string, id: string) {
    const meta = await this.stat(tenantId, id);
    return meta ? { meta, stream: createReadStream(join(this.dir, segment(tenantId), 'owners', segment(meta.ownerId), id)) } : null;
  }

  async stat(tenantId: string, id: string): Promise<BlobMeta | null> {
    if (!SAFE.test(id)) return null;
    try {
      return JSON.parse(await readFile(join(this.dir, segment(tenantId), 'ids', `${id}.json`), 'utf8')) as BlobMeta;
    } catch {
      return null;
    }
  }

  async deleteOwnedBy(tenantId: string, ownerId: string): Promise<number> {
    const tenant = join(this.dir, segment(tenantId));
    const owner = join(tenant, 'owners', segment(ownerId));
    const ids = await readdir(owner).catch(() => [] as string[]);
    for (const id of ids) await rm(join(tenant, 'ids', `${id}.json`), { force: true });
    await rm(owner, { recursive: true, force: true });
    return ids.length;
  }

  async close(): Promise<void> {
    // Nothing held open.
  }
}
