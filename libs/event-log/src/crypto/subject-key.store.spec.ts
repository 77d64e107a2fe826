import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { KeyWrapper, MongoSubjectKeyStore, SqliteSubjectKeyStore, type SubjectKeyStore } from './subject-key.store';

/** Two stores on one database, as two service instances would have them. */
interface TwoStores {
  readonly a: SubjectKeyStore;
  readonly b: SubjectKeyStore;
  close(): Promise<void>;
}

const wrapper = new KeyWrapper(randomBytes(32));

const adapters: [string, () => Promise<TwoStores>][] = [
  [
    'SQLite',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'parley-keys-'));
      const a = new SqliteSubjectKeyStore(join(dir, 'keys.db'), wrapper);
      const b = new SqliteSubjectKeyStore(join(dir, 'keys.db'), wrapper);
      return {
        a,
        b,
        close: async () => {
          a.close();
          b.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  ],
  [
    'FerretDB',
    async () => {
      const client = await MongoClient.connect(infrastructure().mongoUrl);
      const db = client.db(uniqueName('parley_keys').replace(/-/g, '_'));
      return {
        a: new MongoSubjectKeyStore(db, wrapper),
        b: new MongoSubjectKeyStore(db, wrapper),
        close: async () => {
          await db.dropDatabase();
          await client.close();
        },
      };
    },
  ],
];

for (const [name, open] of adapters) {
  describe(`subject keys (${name})`, () => {
    it('gives every concurrent first use, in this store and another one, the same key, and none once erased', async () => {
      const stores = await open();
      try {
        const subject = `customer-${randomBytes(4).toString('hex')}`;
        const keys = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? stores.a : stores.b).keyFor(subject)));
        assert.equal(new Set(keys.map((k) => k.toString('hex'))).size, 1);
        assert.equal(keys[0]!.length, 32);
        assert.deepEqual(await stores.a.find(subject), keys[0]);
        assert.deepEqual(await stores.b.keyFor(subject), keys[0]);
        assert.equal(await stores.a.find('never-seen'), null);
        await stores.b.erase(subject);
        assert.equal(await stores.a.find(subject), null);
      } finally {
        await stores.close();
      }
    });
  });
}
