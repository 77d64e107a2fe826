import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { PARKED_TABLE, SqliteReadModelStore, type ParkedEvent } from '@parley/read-model';

const cli = (args: string[], env: Record<string, string>) =>
  new Promise<{ code: number; out: string; err: string }>((resolve) =>
    execFile(process.execPath, [join(__dirname, 'parked.cli.js'), ...args], { env: { ...process.env, ...env } }, (error, out, err) =>
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, out, err }),
    ),
  );

describe('npm run parked: what an operator sees and retries', () => {
  it('lists parked events as JSON lines and asks for another try of the ones named', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-parked-'));
    const file = join(dir, 'events.db');
    const row = (eventId: string, position: number): ParkedEvent => ({
      id: `outbound-dispatch:${eventId}`,
      projection: 'outbound-dispatch',
      eventId,
      position,
      streamId: 'conversation-t-c1',
      streamVersion: position,
      type: 'conversation.message-sent',
      reason: 'DeliveryFailedError: 413 Request Entity Too Large',
      attempts: 5,
      parkedAt: '2026-12-06T10:00:00.000Z',
      retryRequested: false,
    });
    const store = new SqliteReadModelStore(file);
    await store.upsert(PARKED_TABLE, row('e1', 10));
    await store.upsert(PARKED_TABLE, row('e2', 20));
    await store.close();
    try {
      const env = { PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: file };
      const listed = await cli(['list'], env);
      assert.equal(listed.code, 0, listed.err);
      assert.deepEqual(
        listed.out
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { eventId: string; reason: string }).eventId),
        ['e1', 'e2'],
      );
      assert.match(listed.err, /2 parked/);
      const retried = await cli(['retry', 'e2'], env);
      assert.equal(retried.out.trim(), 'asked for another try: 1');
      const after = new SqliteReadModelStore(file);
      assert.deepEqual(
        [
          (await after.get<ParkedEvent>(PARKED_TABLE, 'outbound-dispatch:e1'))!.retryRequested,
          (await after.get<ParkedEvent>(PARKED_TABLE, 'outbound-dispatch:e2'))!.retryRequested,
        ],
        [false, true],
      );
      await after.close();
      assert.equal((await cli(['nonsense'], env)).code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
