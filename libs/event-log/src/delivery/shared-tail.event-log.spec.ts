import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { Registry } from '@parley/observability';
import type { EventLog } from '../event-log.port';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';
import { sharedTailEventLog } from './shared-tail.event-log';

function counted(log: EventLog): { log: EventLog; reads: () => number } {
  let reads = 0;
  const proxy = new Proxy(log, {
    get: (t, k, r) => (k === 'readAll' ? (o: Parameters<EventLog['readAll']>[0]) => (reads++, t.readAll(o)) : Reflect.get(t, k, r)),
  });
  return { log: proxy, reads: () => reads };
}

describe('shared log tail: one read of the new events for every follower of a process', () => {
  it('hands three followers at the head the same pages the log gives, reading the log once per page', async () => {
    const inner = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const { log, reads } = counted(inner);
    const shared = sharedTailEventLog(log);
    const positions = [0, 0, 0];
    const seen: number[][] = [[], [], []];
    for (let round = 0; round < 20; round++) {
      await inner.append(
        `s-${round}`,
        [1, 2, 3].map((i) => ({ type: 'test.noted', tenantId: 't', data: { i } })),
        'no_stream',
      );
      for (let f = 0; f < 3; f++) {
        const page = await shared.readAll({ after: positions[f]!, limit: 100 });
        const direct = await inner.readAll({ after: positions[f]!, limit: 100 });
        assert.deepEqual(page, direct);
        seen[f]!.push(...page.events.map((e) => e.position!));
        positions[f] = page.checkpoint;
      }
    }
    assert.deepEqual(seen[1], seen[0]);
    assert.deepEqual(seen[2], seen[0]);
    assert.equal(seen[0]!.length, 60);
    assert.equal(reads(), 20, 'one read of the log per new page, not three');
    await inner.close();
  });

  it('never skips nor repeats an event for any follower, wherever it is and whatever its page size (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({ append: fc.integer({ min: 1, max: 4 }) }),
            fc.record({ follower: fc.integer({ min: 0, max: 3 }), limit: fc.integer({ min: 1, max: 7 }), jump: fc.boolean() }),
          ),
          { maxLength: 60 },
        ),
        async (steps) => {
          const inner = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
          const shared = sharedTailEventLog(inner, 10);
          const positions = [0, 0, 0, 0];
          let streams = 0;
          for (const step of steps) {
            if ('append' in step) {
              await inner.append(
                `s-${streams++}`,
                Array.from({ length: step.append }, (_, i) => ({ type: 'test.noted', tenantId: 't', data: { i } })),
                'no_stream',
              );
              continue;
            }
            // Now and then a follower starts over (a rebuild) or restarts far ahead.
            if (step.jump) positions[step.follower] = step.limit % 2 ? 0 : await inner.lastPosition();
            const page = await shared.readAll({ after: positions[step.follower]!, limit: step.limit });
            const direct = await inner.readAll({ after: positions[step.follower]!, limit: step.limit });
            // What the log would give, or the start of it when the rest came after the kept tail:
            // the follower reads on from the checkpoint, which never passes an event it has not had.
            assert.deepEqual(page.events, direct.events.slice(0, page.events.length));
            assert.ok(direct.events.slice(page.events.length).every((e) => e.position! > page.checkpoint));
            assert.ok(page.checkpoint >= positions[step.follower]! && page.checkpoint >= (page.events.at(-1)?.position ?? 0));
            if (page.events.length === 0) assert.deepEqual(direct.events, [], 'an empty page only at the head');
            positions[step.follower] = page.checkpoint;
          }
          await inner.close();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('reads only the types its followers follow, and hands each follower its own types', async () => {
    const inner = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const { log, reads } = counted(inner);
    const shared = sharedTailEventLog(log, 5_000, ['agent.', 'conversation.']);
    // Each follower reads through the tail, and, to compare, the log itself.
    const direct = counted(inner);
    const followers = [['conversation.'], ['agent.presence-changed'], ['conversation.started', 'agent.']].map((types) => ({
      types,
      at: 0,
      seen: [] as string[],
      alone: 0,
    }));
    const follow = async (via: EventLog, types: readonly string[], from: number, seen?: string[]) => {
      for (let at = from; ;) {
        const page = await via.readAll({ after: at, limit: 4, types });
        seen?.push(...page.events.map((e) => `${e.type}@${e.position}`));
        if (page.checkpoint === at) return at;
        at = page.checkpoint;
      }
    };
    const kinds = [
      'conversation.started',
      'customer.registered',
      'agent.presence-changed',
      'identity.claimed',
      'agent.capacity-set',
      'conversation.message-received',
    ];
    for (let round = 0; round < 12; round++) {
      await inner.append(
        `s-${round}`,
        [0, 1, 2].map((i) => ({ type: kinds[(round + i) % kinds.length]!, tenantId: 't', data: { round, i } })),
        'no_stream',
      );
      for (const f of followers) {
        f.at = await follow(shared, f.types, f.at, f.seen);
        f.alone = await follow(direct.log, f.types, f.alone);
      }
    }
    const all = (await inner.readAll({ after: 0, limit: 1000 })).events;
    for (const f of followers) {
      const wanted = all.filter((e) => f.types.some((t) => (t.endsWith('.') ? e.type.startsWith(t) : e.type === t))).map((e) => `${e.type}@${e.position}`);
      assert.ok(wanted.length > 0);
      assert.deepEqual(f.seen, wanted, f.types.join(', '));
      assert.equal(f.at, 36);
    }
    assert.ok(reads() < direct.reads(), `the tail read the log ${reads()} times, three followers on their own ${direct.reads()}`);
    await assert.rejects(shared.readAll({ after: 0, types: ['customer.'] }), /holds only agent\., conversation\./);
    await assert.rejects(shared.readAll({ after: 0 }), /every type/);
    await inner.close();
  });
});
