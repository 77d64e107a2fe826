import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SqliteEventLog } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { ProjectionRunner, type Projection } from './projection.runner';
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
      await log.append('s-last', [{ type: 'other.thing', tenantId: 't', data: {} }, { type: 'wanted.last', tenantId: 't', data: {} }], 'no_stream');
      assert.equal(await runner.catchUp(), 1);
      assert.deepEqual(handled.at(-1), 'wanted.last@302');
    } finally {
      await log.close();
      await store.close();
    }
  });
});
