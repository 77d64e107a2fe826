import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { waitFor } from '@parley/testing-support';

describe('npm start (the embedded process)', () => {
  it('serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-start-'));
    const child = spawn(process.execPath, [join(__dirname, 'main.js')], {
      env: { ...process.env, PARLEY_HTTP_PORT: '0', PARLEY_HTTP_HOST: '127.0.0.1', PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    try {
      const base = (await waitFor(() => /health\s+(http:\/\/\S+)\/healthz/.exec(out)?.[1], (u) => u !== undefined, { what: 'the address' }))!;
      assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^process_cpu_user_seconds_total/m);
      assert.match(metrics, /# TYPE parley_event_log_append_duration_seconds histogram/);
      // Logs are JSON lines.
      const lines = out.split('\n').filter((l) => l.startsWith('{'));
      assert.ok(lines.length > 0 && lines.every((l) => typeof JSON.parse(l).level === 'string'));

      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
      assert.equal(code, 0);
      assert.match(out, /"msg":"stopped"/);
    } finally {
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
