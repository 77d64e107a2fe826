/**
 * npm run bench:blobs: how fast attachments are stored and read, on the file
 * system (embedded mode) and in GridFS on FerretDB (production here), beside the
 * raw limits measured in the same run: writing the same bytes to a file, and
 * inserting them as plain documents of GridFS's chunk size.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Binary, MongoClient } from 'mongodb';
import { FileSystemBlobStore, GridFsBlobStore, type BlobStore } from '../index';

const SIZES = [64 * 1024, 1024 * 1024, 5 * 1024 * 1024];
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const mb = (bytes: number, ms: number) => (bytes / 1024 / 1024 / (ms / 1000)).toFixed(1);

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const chunk of stream) n += (chunk as Buffer).length;
  return n;
}

async function timed(work: () => Promise<number>): Promise<{ bytes: number; ms: number; ops: number }> {
  const started = performance.now();
  let bytes = 0;
  let ops = 0;
  while (performance.now() - started < SECONDS * 1000) {
    bytes += await work();
    ops++;
  }
  return { bytes, ms: performance.now() - started, ops };
}

async function measure(name: string, store: BlobStore, raw: (bytes: Buffer) => Promise<void>): Promise<void> {
  for (const size of SIZES) {
    const bytes = randomBytes(size);
    const ids: string[] = [];
    const put = await timed(async () => {
      ids.push((await store.put({ tenantId: 'bench', ownerId: 'bench', mimeType: 'application/octet-stream' }, bytes)).id);
      return size;
    });
    let i = 0;
    const get = await timed(async () => drain((await store.get('bench', ids[i++ % ids.length]!))!.stream));
    const limit = await timed(async () => {
      await raw(bytes);
      return size;
    });
    console.log(
      `${name.padEnd(20)} ${String(size / 1024).padStart(5)} KiB  put ${mb(put.bytes, put.ms).padStart(7)} MB/s (${(put.ms / put.ops).toFixed(1)} ms each)` +
        `  get ${mb(get.bytes, get.ms).padStart(7)} MB/s  raw limit ${mb(limit.bytes, limit.ms).padStart(7)} MB/s`,
    );
    await store.deleteOwnedBy('bench', 'bench');
  }
}

async function main(): Promise<void> {
  console.log(`each for ${SECONDS} s; put and get of one blob at a time`);
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-blobs-'));
  let n = 0;
  await measure('file system', new FileSystemBlobStore(dir), async (bytes) => writeFileSync(join(dir, `raw-${n++ % 50}`), bytes));
  rmSync(dir, { recursive: true, force: true });
  const url = process.env['PARLEY_MONGO_URL'];
  if (!url) return void console.log('GridFS: PARLEY_MONGO_URL not set (npm run bench:blobs starts FerretDB)');
  const client = await MongoClient.connect(url);
  const db = client.db(`bench_blobs_${process.pid}`);
  const rawChunks = db.collection('raw_chunks');
  const CHUNK = 255 * 1024;
  await measure('GridFS on FerretDB', new GridFsBlobStore(db), async (bytes) => {
    const docs = [];
    for (let o = 0; o < bytes.length; o += CHUNK) docs.push({ n: o / CHUNK, data: new Binary(bytes.subarray(o, o + CHUNK)) });
    await rawChunks.insertMany(docs);
  });
  await db.dropDatabase();
  await client.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
