import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelContract } from '../testing/read-model.contract';
import { SqliteReadModelStore } from './sqlite.read-model';

readModelContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-read-model-'));
  const store = new SqliteReadModelStore(join(dir, 'read.db'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
