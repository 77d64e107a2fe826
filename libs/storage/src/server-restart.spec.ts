import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { HealthRegistry, Registry } from '@parley/observability';
import { ProjectionRunner, type Projection } from '@parley/read-model';
import { waitFor } from '@parley/testing-support';
import { openStorage } from './index';

/** The FerretDB that deploy/local/infra.sh builds (npm test builds it first); PARLEY_FERRETDB_BIN to use another. */
const FERRETDB = process.env['PARLEY_FERRETDB_BIN'] ?? join(__dirname, '..', '..', '..', '.cache', 'ferretdb', 'bin', 'ferretdb');

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

describe('a MongoDB server restart (FerretDB killed and started again under a running projection)', () => {
  it('stops the loop from getting on while the server is away (liveness fails), and the same client goes on once it is back', async () => {
    assert.ok(existsSync(FERRETDB), `FerretDB is built by deploy/local/infra.sh up (npm test does it): ${FERRETDB}`);
    const dir = mkdtempSync(join(tmpdir(), 'parley-ferretdb-restart-'));
    const port = await freePort();
    let server: ChildProcess | null = null;
    const startServer = async () => {
      server = spawn(FERRETDB, ['--listen-addr', `127.0.0.1:${port}`, '--sqlite-url', `file:${dir}/`], { stdio: 'ignore' });
      await waitFor(
        () =>
          new Promise<boolean>((resolve) => {
            const probe = createServer()
              .once('error', () => resolve(true))
              .listen(port, '127.0.0.1', () => probe.close(() => resolve(false)));
          }),
        (taken) => taken,
        { what: 'FerretDB listening', timeoutMs: 30_000 },
      );
    };
    await startServer();
    const storage = await openStorage(
      {
        PARLEY_STORE: 'mongo',
        PARLEY_MONGO_URL: `mongodb://127.0.0.1:${port}/`,
        PARLEY_MONGO_DATABASE: 'restart',
        PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
        PARLEY_SQLITE_FILE: '',
      },
      new Registry(),
    );
    const health = new HealthRegistry();
    const seen: number[] = [];
    const projection: Projection = {
      name: 'restart-count',
      tables: ['restart_count'],
      handle: async (event, store) => {
        seen.push((event.data as { i: number }).i);
        await store.upsert('restart_count', { id: event.id, i: (event.data as { i: number }).i });
      },
    };
    const runner = new ProjectionRunner({
      log: storage.raw,
      store: storage.readModels,
      projection,
      registry: new Registry(),
      pollMs: 50,
      progress: health.loop('projection:restart-count', 2_000),
    });
    try {
      runner.start();
      await storage.log.append('thing-t-1', [{ type: 'thing.happened', tenantId: 't', data: { i: 1 } }], 'any');
      await waitFor(
        () => seen,
        (s) => s.includes(1),
        { what: 'the first event projected', timeoutMs: 30_000 },
      );
      assert.equal(health.live().ok, true);

      server!.kill('SIGKILL');
      await waitFor(
        () => health.live().ok,
        (ok) => !ok,
        { what: 'liveness failing while the server is away', timeoutMs: 30_000 },
      );

      await startServer();
      // The same storage, not reopened: the driver finds the server again.
      await waitFor(
        () =>
          storage.log.append('thing-t-1', [{ type: 'thing.happened', tenantId: 't', data: { i: 2 } }], 'any').then(
            () => true,
            () => false,
          ),
        (ok) => ok,
        { what: 'an append after the restart', timeoutMs: 60_000 },
      );
      await waitFor(
        () => seen,
        (s) => s.includes(2),
        { what: 'the projection going on', timeoutMs: 60_000 },
      );
      await waitFor(
        () => health.live().ok,
        (ok) => ok,
        { what: 'liveness passing again', timeoutMs: 10_000 },
      );
    } finally {
      await runner.stop();
      await storage.close().catch(() => undefined);
      (server as ChildProcess | null)?.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
