import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { RecordedEvent } from '@parley/event-log';
import { SqliteReadModelStore } from './sqlite/sqlite.read-model';
import { StreamOrder } from './stream-order';

const event = (version: number, type: string): RecordedEvent => ({
  id: `e${version}`,
  type,
  schemaVersion: 1,
  streamId: 'conversation-t-1',
  streamVersion: version,
  tenantId: 't',
  occurredAt: '2026-12-07T00:00:00.000Z',
  recordedAt: '2026-12-07T00:00:00.000Z',
  correlationId: 'c',
  causationId: null,
  data: {},
  metadata: {},
  position: 100 + version,
});

/** A stream of five events, two of them of a type the projection does not take. */
const STREAM = [event(1, 'ours.a'), event(2, 'other.x'), event(3, 'ours.b'), event(4, 'other.y'), event(5, 'ours.c')];

function setUp() {
  const reads: number[] = [];
  const log = {
    readStream: async (_stream: string, options?: { from?: number; limit?: number }) => {
      reads.push(options?.from ?? 1);
      return STREAM.filter((e) => e.streamVersion >= (options?.from ?? 1)).slice(0, options?.limit ?? STREAM.length);
    },
  };
  const store = new SqliteReadModelStore(':memory:');
  return { reads, store, order: new StreamOrder(log, store, (type) => type.startsWith('ours.')) };
}

describe('stream order: each stream once and in order from an at-least-once bus', () => {
  it('reads nothing when the events of other types it was told of keep the stream contiguous', async () => {
    const { reads, store, order } = setUp();
    const applied: number[] = [];
    for (const e of STREAM) {
      if (!e.type.startsWith('ours.')) {
        order.skipped(e.streamId, e.streamVersion, 1);
        continue;
      }
      const events = await order.admit(e, 1, 'streams', 0);
      applied.push(...events.map((x) => x.streamVersion));
      await order.applied(e, 'streams');
    }
    assert.deepEqual(applied, [1, 3, 5]);
    assert.deepEqual(reads, [], 'no read of the log');
    await store.close();
  });

  it('fills a gap from the stream, drops a repeat and what the log pass had', async () => {
    const { reads, store, order } = setUp();
    // Event 5 comes first (its writer published before 3's did): 3 is read from the stream and applied before it.
    assert.deepEqual(
      (await order.admit(event(1, 'ours.a'), 1, 'streams', 0)).map((e) => e.streamVersion),
      [1],
    );
    await order.applied(event(1, 'ours.a'), 'streams');
    const filled = await order.admit(event(5, 'ours.c'), 1, 'streams', 0);
    assert.deepEqual(
      filled.map((e) => e.streamVersion),
      [3, 5],
      'the missing one of ours first; the other types read are not applied',
    );
    await order.applied(event(5, 'ours.c'), 'streams');
    assert.deepEqual(reads, [2]);
    assert.deepEqual(await order.admit(event(3, 'ours.b'), 1, 'streams', 0), [], 'then 3 itself is a repeat');
    assert.deepEqual(await order.admit(event(5, 'ours.c'), 1, 'streams', 0), [], 'and so is 5 again');
    // At or below the handover position: the log pass applied it; dropped without a look at the store.
    assert.deepEqual(await order.admit(event(1, 'ours.a'), 2, 'streams_g2', 101), []);
    await store.close();
  });
});
