import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { Registry, createLogger } from '@parley/observability';
import { warmUpWebhooks } from './webhook.warmup';

/** Runs the warm-up with TMPDIR pointed elsewhere (os.tmpdir() reads it on every call). */
async function withTmpdir<T>(dir: string, run: () => Promise<T>): Promise<T> {
  const before = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  try {
    return await run();
  } finally {
    if (before === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = before;
  }
}

const warmupSeconds = async (registry: Registry) => (await registry.getSingleMetric('parley_ingress_warmup_seconds')?.get())?.values[0]?.value;

describe('the webhook warm-up', () => {
  it('runs on a database file in the temporary directory, and leaves nothing there', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-warmup-spec-'));
    const seen = new Set<string>();
    const watcher = watch(dir, { recursive: true }, (_, name) => name && seen.add(String(name)));
    try {
      const registry = new Registry();
      await withTmpdir(dir, () => warmUpWebhooks(40, createLogger('warmup-spec'), registry));
      assert.ok((await warmupSeconds(registry))! > 0);
      assert.ok(
        [...seen].some((name) => name.endsWith('warmup.db-wal')),
        `a file log with its write-ahead log, saw ${[...seen].join(', ')}`,
      );
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      watcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs in memory where no temporary directory can be made', async () => {
    const registry = new Registry();
    await withTmpdir('/proc/parley-no-such-dir', () => warmUpWebhooks(20, createLogger('warmup-spec'), registry));
    assert.ok((await warmupSeconds(registry))! > 0);
  });
});
