import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { promisify } from 'node:util';
import { infrastructure, waitFor } from '@parley/testing-support';

/**
 * What each service's image holds (scripts/image-tree.sh, which its Dockerfile
 * runs), started from an empty environment but its own files: no Docker engine
 * runs here, so this is how a missing file or dependency fails before an image
 * is built elsewhere.
 */
const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..', '..');
const SERVICES = ['history', 'availability', 'routing', 'ingress'] as const;

describe('service images (services/*/Dockerfile)', () => {
  for (const service of SERVICES) {
    it(`${service}: holds production dependencies and compiled code only, and runs from them alone`, async () => {
      const dir = mkdtempSync(join(tmpdir(), `parley-image-${service}-`));
      try {
        const app = join(dir, 'app');
        await run('bash', [join(ROOT, 'scripts', 'image-tree.sh'), service, app], {
          cwd: ROOT,
          maxBuffer: 16 * 1024 * 1024,
          env: { ...process.env, IMAGE_TREE_LINK: 'true' },
        });
        for (const dev of ['typescript', 'eslint', 'nx', 'playwright-core', 'fast-check', '@bufbuild'])
          assert.equal(existsSync(join(app, 'node_modules', dev)), false, `${dev} is a dev tool`);
        for (const other of SERVICES.filter((s) => s !== service))
          assert.equal(existsSync(join(app, 'services', other)), false, `no ${other} in the ${service} image`);
        assert.deepEqual(
          findFiles(app, (f) => /\.spec\.js$|\.ts$/.test(f) && !f.endsWith('.d.ts') && !f.includes('node_modules')),
          [],
          'no tests or sources',
        );
        const dockerfile = readFileSync(join(ROOT, 'services', service, 'Dockerfile'), 'utf8');
        assert.match(dockerfile, new RegExp(`scripts/image-tree.sh ${service} /app`));
        assert.match(dockerfile, /^USER 65532:65532$/m);

        // Started as the image starts it: its own folder, `node services/<service>/dist/main.js`.
        const child = spawn(process.execPath, [`services/${service}/dist/main.js`], {
          cwd: app,
          env: {
            PATH: process.env['PATH'] ?? '',
            PARLEY_STORE: 'sqlite',
            PARLEY_SQLITE_FILE: join(dir, 'data', 'events.db'),
            PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
            PARLEY_TOKEN_SECRETS: randomBytes(32).toString('base64url'),
            PARLEY_LOG_LEVEL: 'info',
            PARLEY_KAFKA_BROKERS: infrastructure().kafkaBrokers.join(','),
            [`PARLEY_${service.toUpperCase()}_HTTP_PORT`]: '0',
            ...(service === 'ingress' ? { PARLEY_INGRESS_HTTP_HOST: '127.0.0.1' } : { [`PARLEY_${service.toUpperCase()}_GRPC_ADDRESS`]: '127.0.0.1:0' }),
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => (out += c.toString()));
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
        try {
          const port = await waitFor(
            () => /"httpPort":(\d+)/.exec(out)?.[1],
            (p) => p !== undefined,
            { what: `${service} running`, timeoutMs: 30_000 },
          );
          const ready = await waitFor(
            async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status,
            (s) => s === 200,
            { what: 'ready' },
          );
          assert.equal(ready, 200);
          if (service === 'ingress') assert.equal((await fetch(`http://127.0.0.1:${port}/widget.js`)).status, 200, 'the widget ships in the image');
          // The SQLite log's checkpoint thread runs from its own file in the tree (it reports within 50 ms).
          const metrics = await waitFor(
            () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()),
            (m) => m.includes('parley_event_log_wal_frames_behind{adapter="sqlite"}'),
            { what: 'the checkpoint thread reporting' },
          );
          if (service === 'ingress') assert.match(metrics, /^parley_ingress_warmup_seconds \d/m, 'the webhook path warmed up from the image');
        } finally {
          child.kill('SIGTERM');
        }
        assert.equal(await exited, 0, out);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});

function findFiles(dir: string, match: (file: string) => boolean): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && entry.name !== 'node_modules') found.push(...findFiles(path, match));
    else if (entry.isFile() && match(path)) found.push(path);
  }
  return found;
}
