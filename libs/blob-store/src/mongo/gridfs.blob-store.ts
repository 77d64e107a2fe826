import { GridFSBucket, type Db } from 'mongodb';
import { newBlobId, type BlobMeta, type BlobStore, type StoredBlob } from '../blob-store.port';

type FileMeta = Omit<BlobMeta, 'sizeBytes'>;

/**
 * Blobs in MongoDB's GridFS (bucket `blobs`: insert-only chunks and a file
 * document), so every replica of every service reads what another stored. Runs
 * on FerretDB 1.24 too (measured: `npm run bench:blobs`).
 */
export class GridFsBlobStore implements BlobStore {
  private readonly bucket: GridFSBucket;
  private indexed: Promise<void> | null = null;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: 'blobs', chunkSizeBytes: 255 * 1024 });
  }

  async put(meta: FileMeta, bytes: Buffer, given?: string): Promise<StoredBlob> {
    await this.ensureIndexes();
    const id = given ?? newBlobId();
    // The same id again: stored already, nothing new.
    if (given && (await this.bucket.find({ _id: id as never }).toArray()).length > 0) return { id, meta: { ...meta, sizeBytes: bytes.length } };
    await new Promise<void>((resolve, reject) => {
      const upload = this.bucket.openUploadStreamWithId(id as never, id, { metadata: { ...meta } });
      upload.once('error', reject).once('finish', () => resolve());
      upload.end(bytes);
    });
    return { id, meta: { ...meta, sizeBytes: bytes.length } };
  }

  async get(tenantId: string, id: string) {
    const meta = await this.stat(tenantId, id);
    return meta ? { meta, stream: this.bucket.openDownloadStream(id as never) } : null;
  }

  async stat(tenantId: string, id: string): Promise<BlobMeta | null> {
    // Top-level equality on _id: FerretDB hands it to PostgreSQL's index.
    const [file] = await this.bucket.find({ _id: id as never }).toArray();
    const meta = file?.metadata as FileMeta | undefined;
    return file && meta?.tenantId === tenantId ? { ...meta, sizeBytes: file.length } : null;
  }

  async deleteOwnedBy(tenantId: string, ownerId: string): Promise<number> {
    const files = await this.bucket.find({ 'metadata.tenantId': tenantId, 'metadata.ownerId': ownerId }).toArray();
    for (const file of files) await this.bucket.delete(file._id);
    return files.length;
  }

  async close(): Promise<void> {
    // The Db belongs to whoever connected it.
  }

  private ensureIndexes(): Promise<void> {
    this.indexed ??= this.db
      .collection('blobs.files')
      .createIndex({ 'metadata.tenantId': 1, 'metadata.ownerId': 1 })
      .then(() => undefined);
    return this.indexed;
  }
}
