import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Registry } from 'prom-client';
import { HealthRegistry, stuckAfterMs } from './health';
import { createLogger } from './logger';
import { startHealthServer } from './nest/health.server';

describe('liveness: background loops that stop getting on', () => {
  it('fails liveness once a loop has not got on for its time, and passes again when it does', () => {
    let now = 1_000_000;
    const health = new HealthRegistry(() => now);
    const relay = health.loop('outbox-relay', 60_000);
    const projection = health.loop('projection:list', 60_000);
    assert.equal(health.live().ok, true);
    now += 30_000;
    relay.beat();
    now += 45_000;
    // The projection: 75 s without progress (failing every try); the relay beat 45 s ago.
    assert.deepEqual(health.live(), {
      ok: false,
      loops: { 'outbox-relay': { ok: true, secondsSinceProgress: 45 }, 'projection:list': { ok: false, secondsSinceProgress: 75 } },
    });
    projection.beat();
    assert.equal(health.live().ok, true);
    health.forgetLoop('projection:list');
    now += 61_000;
    assert.deepEqual(Object.keys(health.live().loops), ['outbox-relay']);
  });

  it('takes its time from PARLEY_LOOP_STUCK_AFTER_MS, 2 minutes when unset or nonsense', () => {
    assert.equal(stuckAfterMs({ PARLEY_LOOP_STUCK_AFTER_MS: '30000' }), 30_000);
    assert.equal(stuckAfterMs({}), 120_000);
    assert.equal(stuckAfterMs({ PARLEY_LOOP_STUCK_AFTER_MS: 'soon' }), 120_000);
  });

  it('answers /healthz 503 naming the stuck loop, and shows every loop in the metrics', async () => {
    let now = 0;
    const health = new HealthRegistry(() => now);
    const registry = new Registry();
    health.loop('projection:timeline', 1_000);
    health.loop('outbox-relay', 1_000).beat();
    const server = await startHealthServer({ registry, health, logger: createLogger('test'), port: 0, host: '127.0.0.1' });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      now = 1_500;
      const stuck = await fetch(`${base}/healthz`);
      assert.equal(stuck.status, 503);
      assert.deepEqual(await stuck.json(), {
        status: 'stuck',
        loops: { 'projection:timeline': { ok: false, secondsSinceProgress: 1.5 }, 'outbox-relay': { ok: false, secondsSinceProgress: 1.5 } },
      });
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /parley_loop_stuck\{loop="projection:timeline"\} 1/);
      assert.match(metrics, /parley_loop_seconds_since_progress\{loop="outbox-relay"\} 1.5/);
    } finally {
      await server.close();
    }
  });
});
