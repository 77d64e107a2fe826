import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { FileSystemBlobStore, GridFsBlobStore } from './index';
import { blobStoreContract } from './testing';

blobStoreContract('file system', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-blobs-'));
  return { store: new FileSystemBlobStore(dir), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

blobStoreContract('GridFS on FerretDB', async () => {
  const client = await MongoClient.connect(infrastructure().mongoUrl);
  const db = client.db(uniqueName('parley_blobs').replace(/-/g, '_'));
  return {
    store: new GridFsBlobStore(db),
    cleanup: async () => {
      await db.dropDatabase();
      await client.close();
    },
  };
});
