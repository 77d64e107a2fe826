import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { blobIdOf, blobRef, type BlobStore } from '../blob-store.port';

const bytesOf = async (stream: Readable) => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
};

/** What every blob store adapter must do: run it against each (file system, GridFS on FerretDB). */
export function blobStoreContract(name: string, open: () => Promise<{ store: BlobStore; cleanup(): Promise<void> }>): void {
  describe(`blob store contract: ${name}`, () => {
    let store: BlobStore;
    let cleanup: () => Promise<void>;
    before(async () => {
      ({ store, cleanup } = await open());
    });
    after(async () => {
      await store.close();
      await cleanup();
    });

    it('gives back the bytes and what they are, by an unguessable id, to their tenant only', async () => {
      const bytes = randomBytes(700 * 1024 + 3);
      const stored = await store.put({ tenantId: 'brand-a', ownerId: 'cust-1', mimeType: 'image/png', name: 'photo.png' }, bytes);
      assert.equal(blobIdOf(blobRef(stored.id)), stored.id);
      assert.deepEqual(stored.meta, { tenantId: 'brand-a', ownerId: 'cust-1', mimeType: 'image/png', name: 'photo.png', sizeBytes: bytes.length });
      const got = await store.get('brand-a', stored.id);
      assert.ok(got);
      assert.deepEqual(got.meta, stored.meta);
      assert.ok((await bytesOf(got.stream)).equals(bytes));
      assert.deepEqual(await store.stat('brand-a', stored.id), stored.meta);
      assert.equal(await store.stat('brand-b', stored.id), null);
      assert.equal(await store.get('brand-b', stored.id), null, "another tenant's id is not found");
      assert.equal(await store.get('brand-a', 'AAAAAAAAAAAAAAAAAAAAAA'), null);
      assert.equal(await store.get('brand-a', '../../etc/passwd'), null);
      const other = await store.put({ tenantId: 'brand-a', ownerId: 'cust-1', mimeType: 'text/plain' }, Buffer.from('x'));
      assert.notEqual(other.id, stored.id);
      assert.equal(stored.id.length, 22);
    });

    it('stores a given id once: the same media put again is the same blob', async () => {
      const id = 'media0123456789abcdefg';
      const first = await store.put({ tenantId: 'brand-a', ownerId: 'cust-2', mimeType: 'image/jpeg' }, Buffer.from('jpeg bytes'), id);
      const again = await store.put({ tenantId: 'brand-a', ownerId: 'cust-2', mimeType: 'image/jpeg' }, Buffer.from('jpeg bytes'), id);
      assert.deepEqual([first.id, again.id], [id, id]);
      assert.equal((await bytesOf((await store.get('brand-a', id))!.stream)).toString(), 'jpeg bytes');
      assert.equal(await store.deleteOwnedBy('brand-a', 'cust-2'), 1);
    });

    it("deletes every blob of one customer on erasure, and nobody else's", async () => {
      const mine = await Promise.all(
        [1, 2, 3].map((i) => store.put({ tenantId: 'brand-a', ownerId: 'erased', mimeType: 'text/plain' }, Buffer.from(`mine ${i}`))),
      );
      const theirs = await store.put({ tenantId: 'brand-a', ownerId: 'kept', mimeType: 'text/plain' }, Buffer.from('theirs'));
      const sameIdElsewhere = await store.put({ tenantId: 'brand-b', ownerId: 'erased', mimeType: 'text/plain' }, Buffer.from('other tenant'));
      assert.equal(await store.deleteOwnedBy('brand-a', 'erased'), 3);
      for (const blob of mine) assert.equal(await store.get('brand-a', blob.id), null);
      assert.ok(await store.get('brand-a', theirs.id));
      assert.ok(await store.get('brand-b', sameIdElsewhere.id));
      assert.equal(await store.deleteOwnedBy('brand-a', 'erased'), 0, 'erasing again finds nothing');
    });
  });
}
