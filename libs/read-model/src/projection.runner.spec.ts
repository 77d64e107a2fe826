import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { SqliteEventLog, sharedTailEventLog } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { waitFor } from '@parley/testing-support';
import { ProjectionRunner, type Projection } from './projection.runner';
import { listParked, requestRetry } from './projection.parked';
import { SqliteReadModelStore } from './sqlite/sqlite.read-model';

describe('projection runner: a projection of some event types', () => {
  it('is handed only its types, and reaches the head past long runs of other types', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const store = new SqliteReadModelStore(':memory:');
    const handled: string[] = [];
    const projection: Projection = {
      name: 'wanted',
      tables: ['wanted'],
      types: ['wanted.'],
      async handle(event) {
        handled.push(`${event.type}@${event.position}`);
      },
    };
    const runner = new ProjectionRunner({ log, store, projection, batchSize: 2, registry: new Registry() });
    try {
      // 300 events of other types around 3 wanted ones: far more than one read looks at (20 pages of 2).
      for (let i = 0; i < 300; i++) {
        const type = i % 100 === 50 ? 'wanted.thing' : 'other.thing';
        await log.append(`s-${i}`, [{ type, tenantId: 't', data: { i } }], 'no_stream');
      }
      assert.equal(await runner.catchUp(), 3);
      assert.deepEqual(handled, ['wanted.thing@51', 'wanted.thing@151', 'wanted.thing@251']);
      assert.ok(runner.caughtUp);
      // The checkpoint is at the head: nothing is handled twice, and what comes next is.
      assert.equal(await runner.catchUp(), 0);
      await log.append(
        's-last',
        [
          { type: 'other.thing', tenantId: 't', data: {} },
          { type: 'wanted.last', tenantId: 't', data: {} },
        ],
        'no_stream',
      );
      assert.equal(await runner.catchUp(), 1);
      assert.deepEqual(handled.at(-1), 'wanted.last@302');
    } finally {
      await log.close();
      await store.close();
    }
  });
});

describe('projection runner: one event that always fails', () => {
  it('is tried a few times, then parked with its reason while the rest flows on; an operator lists it and has it applied again', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const store = new SqliteReadModelStore(':memory:');
    const registry = new Registry();
    const handled: number[] = [];
    let tries = 0;
    let poisoned = true;
    const projection: Projection = {
      name: 'counting',
      tables: ['counting'],
      async handle(event) {
        const i = (event.data as { i: number }).i;
        if (i === 2 && poisoned) {
          tries++;
          throw new RangeError('value out of range for this read model');
        }
        handled.push(i);
      },
    };
    const runner = new ProjectionRunner({ log, store, projection, registry, maxAttempts: 3, retryCheckMs: 0, pollMs: 10 });
    try {
      for (let i = 0; i < 5; i++) await log.append(`s-${i}`, [{ type: 'thing.happened', tenantId: 't', data: { i } }], 'no_stream');
      assert.equal(await runner.catchUp(), 5);
      assert.deepEqual(handled, [0, 1, 3, 4], 'everything after the bad event applied');
      assert.equal(tries, 3, 'tried three times');
      assert.ok(runner.caughtUp);
      const parked = await runner.parked();
      assert.deepEqual(
        parked.map((p) => [p.streamId, p.type, p.reason, p.attempts, p.retryRequested]),
        [['s-2', 'thing.happened', 'RangeError: value out of range for this read model', 3, false]],
      );
      assert.deepEqual(
        (await listParked(store)).map((p) => p.eventId),
        [parked[0]!.eventId],
      );
      assert.deepEqual(
        (await registry.getSingleMetric('parley_projection_parked_total')!.get()).values.map((v) => v.value),
        [1],
      );
      // The cause is mended; the operator asks for another try (`npm run parked -- retry`), the running projection applies it.
      poisoned = false;
      assert.equal(await requestRetry(store, [parked[0]!.id]), 1);
      runner.start();
      await waitFor(
        () => runner.parked(),
        (p) => p.length === 0,
        { what: 'the parked event applied' },
      );
      assert.deepEqual(handled, [0, 1, 3, 4, 2]);
      await runner.stop();
    } finally {
      await runner.stop();
      await log.close();
      await store.close();
    }
  });
});

describe('projection runner: retrying a parked event through a shared tail of some types', () => {
  it('reads the parked event from its stream, not from the tail (which serves only recent positions of its types)', async () => {
    const inner = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const log = sharedTailEventLog(inner, 10, ['thing.']);
    const store = new SqliteReadModelStore(':memory:');
    const handled: number[] = [];
    let poisoned = true;
    const projection: Projection = {
      name: 'tail-follower',
      tables: ['tail_follower'],
      types: ['thing.'],
      async handle(event) {
        const i = (event.data as { i: number }).i;
        if (i === 0 && poisoned) throw new Error('not yet');
        handled.push(i);
      },
    };
    const runner = new ProjectionRunner({ log, store, projection, registry: new Registry(), maxAttempts: 1, retryCheckMs: 0, pollMs: 10 });
    try {
      // The parked event ends up far behind the tail's window of 10 events.
      for (let i = 0; i < 30; i++) await inner.append(`s-${i}`, [{ type: 'thing.happened', tenantId: 't', data: { i } }], 'no_stream');
      await runner.catchUp();
      assert.equal((await runner.parked()).length, 1);
      poisoned = false;
      await requestRetry(store);
      runner.start();
      await waitFor(
        () => runner.parked(),
        (p) => p.length === 0,
        { what: 'the parked event applied' },
      );
      assert.equal(handled.at(-1), 0);
    } finally {
      await runner.stop();
      await inner.close();
      await store.close();
    }
  });
});
