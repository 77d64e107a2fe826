import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { AvailabilityModel } from '@parley/availability-model';
import { SqliteEventLog, type EventLog } from '@parley/event-log';
import { createLogger, Registry } from '@parley/observability';
import { RoutingEngine } from './routing.engine';

const policy = { strategy: 'longest-idle' as const, offerTimeoutSeconds: 30, stickySeconds: 60, escalation: [], requeueLiveOnOffline: true };
const agent = { agentId: 'a1', online: true, skills: [], capacity: { live: 2, messaging: 5 }, loadElsewhere: { live: 0, messaging: 0 } };

describe('routing engine: a queue read by polling desktops', () => {
  it('reads the log once per freshness window however many ask, and shows its own decisions at once', async () => {
    const inner = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    let reads = 0;
    const log = new Proxy(inner, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (property === 'readStream') return (...args: unknown[]) => (reads++, (value as (...a: unknown[]) => unknown).apply(target, args));
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as EventLog;
    const logger = createLogger('engine-spec');
    const engine = new RoutingEngine(log, new AvailabilityModel(inner, logger), policy, logger, new Registry());
    const at = new Date().toISOString();
    await engine.run('t', 'q', [{ type: 'Enqueue', conversationId: 'c1', kind: 'messaging', priority: 0, skills: [], reason: 'new', at }]);
    reads = 0;
    const polls = await Promise.all(Array.from({ length: 20 }, () => engine.recentState('t', 'q', 60_000)));
    assert.ok(polls.every((s) => s.offers.length === 0));
    assert.ok(reads <= 2, `log reads for 20 polls: ${reads}`);
    // This replica offers: the next poll sees the offer, though the window has not passed.
    await engine.run('t', 'q', [{ type: 'Dispatch', agents: [agent], policy, offerIds: ['o1'], at }]);
    assert.deepEqual(
      (await engine.recentState('t', 'q', 60_000)).offers.map((o) => [o.offerId, o.agentId]),
      [['o1', 'a1']],
    );
    await inner.close();
  });
});
