import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@parley/observability';
import { eventLogContract } from '../testing/event-log.contract';
import { SqliteEventLog } from './sqlite.event-log';

eventLogContract('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'));
  const filename = join(dir, 'events.db');
  const opened: SqliteEventLog[] = [];
  const open = () => {
    const log = new SqliteEventLog({ filename, registry: new Registry() });
    opened.push(log);
    return log;
  };
  return {
    log: open(),
    openAnother: async () => open(),
    cleanup: async () => {
      for (const log of opened) await log.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
