import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { describe, it } from '@jest/globals';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from '@parley/observability';
import { waitFor } from '@parley/testing-support';
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

describe('SQLite write-ahead log checkpoints', () => {
  it('are copied into the database file by a thread of their own while appends go on, and the log file is gone after close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-checkpoint-'));
    const filename = join(dir, 'events.db');
    const registry = new Registry();
    const log = new SqliteEventLog({ filename, registry, checkpointIntervalMs: 20 });
    try {
      const emptyFile = statSync(filename).size;
      // About 2 MiB of pages: far below the appending connection's own checkpoint
      // threshold (32 MiB), so only the checkpoint thread can have moved them.
      const text = 'x'.repeat(2000);
      for (let batch = 0; batch < 50; batch++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) =>
            log.append(`conversation-t-${batch}-${i}`, [{ type: 'test.noted', tenantId: 't', data: { text } }], 'no_stream'),
          ),
        );
      }
      await waitFor(
        () => statSync(filename).size,
        (size) => size > emptyFile + 1_500_000,
        { what: 'pages copied into the database file' },
      );
      const behind = await waitFor(
        async () => (await registry.getSingleMetric('parley_event_log_wal_frames_behind')!.get()).values[0]?.value,
        (v) => v === 0,
        { what: 'the checkpoint thread caught up' },
      );
      assert.equal(behind, 0);
    } finally {
      await log.close();
    }
    assert.equal(existsSync(`${filename}-wal`), false, 'the last connection removed the write-ahead log');
    // Everything appended is in the database file itself.
    const reopened = new SqliteEventLog({ filename, registry: new Registry() });
    assert.equal((await reopened.readAll({ after: 0, limit: 2000 })).events.length, 1000);
    await reopened.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('SQLite reads of some types', () => {
  it('answers a reader far behind other types with an empty page and a moved checkpoint, a bounded scan at a time', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    try {
      for (let i = 0; i < 50; i++) await log.append(`other-${i}`, [{ type: 'other.thing', tenantId: 't', data: { i } }], 'no_stream');
      await log.append('wanted-1', [{ type: 'wanted.thing', tenantId: 't', data: {} }], 'no_stream');
      const first = await log.readAll({ after: 0, limit: 2, types: ['wanted.'] });
      // One read scans 20 pages (TYPED_SCAN_PAGES) of the size asked for: 40 positions, none of them wanted.
      assert.deepEqual(first, { events: [], checkpoint: 40 });
      const second = await log.readAll({ after: first.checkpoint, limit: 2, types: ['wanted.'] });
      assert.deepEqual(
        second.events.map((e) => [e.streamId, e.position]),
        [['wanted-1', 51]],
      );
      assert.equal(second.checkpoint, 51);
      assert.deepEqual(await log.readAll({ after: 51, limit: 2, types: ['wanted.'] }), { events: [], checkpoint: 51 });
    } finally {
      await log.close();
    }
  });
});
