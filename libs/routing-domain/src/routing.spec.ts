import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { RoutingEvent } from '@parley/contracts';
import { specFor } from '@parley/decider/testing';
import { roundBackoffSeconds, routingDecider, type AgentView, type QueuePolicy } from './routing.decide';
import { AgentAtCapacityError, OfferNotFoundError } from './routing.errors';
import { evolve, evolveAll, initialState } from './routing.state';

const spec = specFor(routingDecider);
const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const policy: QueuePolicy = { strategy: 'longest-idle', offerTimeoutSeconds: 30, stickySeconds: 60, escalation: [], requeueLiveOnOffline: true };
const agent = (agentId: string, over: Partial<AgentView> = {}): AgentView => ({
  agentId,
  online: true,
  skills: ['billing'],
  capacity: { live: 2, messaging: 5 },
  loadElsewhere: { live: 0, messaging: 0 },
  ...over,
});
const enqueued = (conversationId: string, s = 0, over: Record<string, unknown> = {}): RoutingEvent => ({
  type: 'routing.enqueued',
  data: { conversationId, kind: 'live', priority: 0, skills: ['billing'], reason: 'new', at: at(s), ...over } as never,
});
const offered = (conversationId: string, agentId: string, offerId: string, s = 100, over: Record<string, unknown> = {}): RoutingEvent => ({
  type: 'routing.offered',
  data: { conversationId, offerId, agentId, expiresAt: at(s + 30), at: at(s), ...over } as never,
});
const assigned = (conversationId: string, agentId: string, s: number, by: 'accept' | 'pick' | 'transfer' = 'accept', offerId?: string): RoutingEvent => ({
  type: 'routing.assigned',
  data: { conversationId, agentId, ...(offerId ? { offerId } : {}), by, at: at(s) },
});
const dispatch = (agents: AgentView[], s = 100, p: QueuePolicy = policy) => ({
  type: 'Dispatch' as const,
  agents,
  policy: p,
  offerIds: ['o1', 'o2', 'o3', 'o4'],
  at: at(s),
});
const offersOf = (events: readonly RoutingEvent[]) =>
  events
    .filter((e) => e.type === 'routing.offered')
    .map((e) => `${(e.data as { conversationId: string }).conversationId}->${(e.data as { agentId: string }).agentId}`);
const decided = (history: RoutingEvent[], command: Parameters<typeof routingDecider.decide>[0]) => routingDecider.decide(command, spec.given(history).state());

describe('routing: strategies', () => {
  it('longest idle: the agent whose last assignment is oldest', () => {
    const history = [enqueued('x', 0), assigned('x', 'a', 10), enqueued('y', 1), assigned('y', 'b', 5), enqueued('c1', 20)];
    assert.deepEqual(offersOf(decided(history, dispatch([agent('a'), agent('b')]))), ['c1->b']);
  });
  it('least busy: the agent with the smallest share of their capacity in use', () => {
    const history = [enqueued('c1', 0)];
    assert.deepEqual(
      offersOf(
        decided(
          history,
          dispatch(
            [
              agent('a', { loadElsewhere: { live: 1, messaging: 0 } }),
              agent('b', { capacity: { live: 4, messaging: 5 }, loadElsewhere: { live: 1, messaging: 0 } }),
            ],
            100,
            { ...policy, strategy: 'least-busy' },
          ),
        ),
      ),
      ['c1->b'],
    );
  });
  it('round robin: the next agent after the last one chosen', () => {
    const history = [enqueued('x', 0), assigned('x', 'b', 10), enqueued('c1', 20), enqueued('c2', 21), enqueued('c3', 22)];
    assert.deepEqual(offersOf(decided(history, dispatch([agent('a'), agent('b'), agent('c')], 100, { ...policy, strategy: 'round-robin' }))), [
      'c1->c',
      'c2->a',
      'c3->b',
    ]);
  });
});

describe('routing: order and capacity', () => {
  it('higher priority first, then first come first served', () => {
    const history = [enqueued('old', 0), enqueued('urgent', 5, { priority: 5 }), enqueued('newer', 3)];
    const one = agent('a', { capacity: { live: 1, messaging: 5 } });
    assert.deepEqual(offersOf(decided(history, dispatch([one]))), ['urgent->a']);
    assert.deepEqual(offersOf(decided(history, dispatch([agent('a', { capacity: { live: 3, messaging: 5 } })]))), ['urgent->a', 'old->a', 'newer->a']);
  });
  it('never offers beyond capacity: open offers hold their slot, live and messaging counted apart', () => {
    const history = [enqueued('c1', 0), enqueued('c2', 1), enqueued('m1', 2, { kind: 'messaging' }), offered('c1', 'a', 'o0', 50)];
    const a = agent('a', { capacity: { live: 2, messaging: 1 }, loadElsewhere: { live: 1, messaging: 0 } });
    assert.deepEqual(offersOf(decided(history, dispatch([a]))), ['m1->a'], 'one live slot, held by the open offer; the messaging slot is free');
  });
  it("skips agents offline, without the skills, or speaking none of the queue's languages", () => {
    spec
      .given([enqueued('c1', 0)])
      .when(dispatch([agent('a', { online: false }), agent('b', { skills: [] })]))
      .thenNothing();
    spec
      .given([enqueued('c1', 0)])
      .when({ ...dispatch([agent('a', { languages: ['fr'] })]), languages: ['de', 'en'] })
      .thenNothing();
    assert.deepEqual(
      offersOf(decided([enqueued('c1', 0)], { ...dispatch([agent('a', { languages: ['fr'] }), agent('b', { languages: ['en'] })]), languages: ['de', 'en'] })),
      ['c1->b'],
    );
  });
});

describe('routing: sticky agent', () => {
  it('offers a returning customer to their last agent first, waits for them a while, then goes to the queue', () => {
    const history = [enqueued('c1', 0, { preferredAgentId: 'b' })];
    assert.deepEqual(offersOf(decided(history, dispatch([agent('a'), agent('b')], 10))), ['c1->b']);
    spec
      .given(history)
      .when(dispatch([agent('a'), agent('b', { online: false })], 10))
      .thenNothing();
    assert.deepEqual(offersOf(decided(history, dispatch([agent('a'), agent('b', { online: false })], 61))), ['c1->a']);
  });
});

describe('routing: offers, timeouts, manual pick', () => {
  it('assigns on accept; a decline or a timeout offers it to the next agent, never again to the same', () => {
    const history = [enqueued('c1', 0), offered('c1', 'a', 'o1', 100)];
    spec
      .given(history)
      .when({ type: 'Accept', offerId: 'o1', agentId: 'a', at: at(110) })
      .then([assigned('c1', 'a', 110, 'accept', 'o1')]);
    spec
      .given(history)
      .when({ type: 'Expire', at: at(131) })
      .then([{ type: 'routing.offer-declined', data: { conversationId: 'c1', offerId: 'o1', agentId: 'a', reason: 'timed-out', at: at(131) } }]);
    spec
      .given(history)
      .when({ type: 'Expire', at: at(120) })
      .thenNothing();
    const timedOut = [
      ...history,
      { type: 'routing.offer-declined', data: { conversationId: 'c1', offerId: 'o1', agentId: 'a', reason: 'timed-out', at: at(131) } } as RoutingEvent,
    ];
    assert.deepEqual(offersOf(decided(timedOut, dispatch([agent('a'), agent('b')], 132))), ['c1->b']);
    spec
      .given(timedOut)
      .when({ type: 'Accept', offerId: 'o1', agentId: 'a', at: at(133) })
      .thenThrows(OfferNotFoundError, { offerId: 'o1' });
    spec
      .given(history)
      .when({ type: 'Accept', offerId: 'o1', agentId: 'a', at: at(140) })
      .thenThrows(OfferNotFoundError);
  });
  it('starts a new round after every agent who could take it declined or missed it, with a growing back-off', () => {
    const declined = (agentId: string, offerId: string, s: number, reason: 'declined' | 'timed-out' = 'declined'): RoutingEvent => ({
      type: 'routing.offer-declined',
      data: { conversationId: 'c1', offerId, agentId, reason, at: at(s) },
    });
    const round = (n: number, s: number): RoutingEvent => ({ type: 'routing.round-started', data: { conversationId: 'c1', round: n, at: at(s) } });
    // The only agent online let the offer time out: nobody is asked at once, and no one else is there.
    const missed = [enqueued('c1', 0), offered('c1', 'a', 'o0', 100), declined('a', 'o0', 131, 'timed-out')];
    spec
      .given(missed)
      .when(dispatch([agent('a')], 132))
      .thenNothing();
    spec
      .given(missed)
      .when(dispatch([agent('a')], 160))
      .thenNothing();
    // 30 s after the miss, round 2 asks again.
    spec
      .given(missed)
      .when(dispatch([agent('a')], 161))
      .then([round(2, 161), { ...offered('c1', 'a', 'o1', 161) }]);
    // Round 2 missed too: the next round waits 60 s.
    const twice = [...missed, round(2, 161), offered('c1', 'a', 'o1', 161), declined('a', 'o1', 170)];
    spec
      .given(twice)
      .when(dispatch([agent('a')], 229))
      .thenNothing();
    assert.deepEqual(
      decided(twice, dispatch([agent('a')], 230)).map((e) => e.type),
      ['routing.round-started', 'routing.offered'],
    );
    // While an agent who has not been asked can take it, no new round: that agent is asked.
    assert.deepEqual(offersOf(decided(missed, dispatch([agent('a'), agent('b')], 200))), ['c1->b']);
    // No new round for agents who cannot take it now (offline or full): it keeps waiting.
    spec
      .given(missed)
      .when(dispatch([agent('a', { online: false })], 500))
      .thenNothing();
    spec
      .given(missed)
      .when(dispatch([agent('a', { capacity: { live: 0, messaging: 5 } })], 500))
      .thenNothing();
    // The back-off grows to at most ten minutes.
    assert.deepEqual([1, 2, 3, 4, 5, 6, 10].map(roundBackoffSeconds), [30, 60, 120, 240, 480, 600, 600]);
  });
  it("lets a supervisor pick, within the agent's capacity", () => {
    spec
      .given([enqueued('c1', 0)])
      .when({ type: 'Pick', conversationId: 'c1', agent: agent('a'), at: at(5) })
      .then([assigned('c1', 'a', 5, 'pick')]);
    spec
      .given([enqueued('c1', 0)])
      .when({ type: 'Pick', conversationId: 'c1', agent: agent('a', { loadElsewhere: { live: 2, messaging: 0 } }), at: at(5) })
      .thenThrows(AgentAtCapacityError, { agentId: 'a' });
  });
});

describe('routing: escalation', () => {
  it('widens the skills after a wait, then overflows to another queue', () => {
    const p: QueuePolicy = {
      ...policy,
      escalation: [
        { afterSeconds: 60, action: 'widen-skills' },
        { afterSeconds: 300, action: 'overflow', toQueueId: 'general' },
      ],
    };
    const history = [enqueued('c1', 0)];
    const generalist = agent('g', { skills: [] });
    spec
      .given(history)
      .when(dispatch([generalist], 30, p))
      .thenNothing();
    assert.deepEqual(
      decided(history, dispatch([generalist], 61, p)).map((e) => e.type),
      ['routing.escalated', 'routing.offered'],
    );
    const widened = [...history, { type: 'routing.escalated', data: { conversationId: 'c1', step: 1, action: 'widen-skills', at: at(61) } } as RoutingEvent];
    spec
      .given(widened)
      .when(dispatch([], 301, p))
      .then([
        { type: 'routing.escalated', data: { conversationId: 'c1', step: 2, action: 'overflow', toQueueId: 'general', at: at(301) } },
        { type: 'routing.left', data: { conversationId: 'c1', reason: 'overflow', toQueueId: 'general', at: at(301) } },
      ]);
  });
});

describe('routing: transfers and agents going offline', () => {
  const owned = [enqueued('c1', 0), assigned('c1', 'a', 10)];
  it('warm: the first agent keeps it until the second accepts; a decline leaves it with the first', () => {
    spec
      .given(owned)
      .when({ type: 'Transfer', conversationId: 'c1', to: { kind: 'agent', agentId: 'b' }, mode: 'warm', offerId: 't1', policy, at: at(20) })
      .then([offered('c1', 'b', 't1', 20, { transferFromAgentId: 'a' })]);
    const warm = [...owned, offered('c1', 'b', 't1', 20, { transferFromAgentId: 'a' })];
    spec
      .given(warm)
      .when({ type: 'Accept', offerId: 't1', agentId: 'b', at: at(25) })
      .then([
        { type: 'routing.released', data: { conversationId: 'c1', agentId: 'a', reason: 'transferred', at: at(25) } },
        assigned('c1', 'b', 25, 'transfer', 't1'),
      ]);
    const declined = spec
      .given([...warm, { type: 'routing.offer-declined', data: { conversationId: 'c1', offerId: 't1', agentId: 'b', reason: 'declined', at: at(25) } }])
      .state();
    assert.equal(declined.assigned['c1']?.agentId, 'a');
  });
  it('cold: released at once, and waiting first for the agent it was sent to; to a queue, it leaves this one', () => {
    spec
      .given(owned)
      .when({ type: 'Transfer', conversationId: 'c1', to: { kind: 'agent', agentId: 'b' }, mode: 'cold', offerId: 't1', policy, at: at(20) })
      .then([
        { type: 'routing.released', data: { conversationId: 'c1', agentId: 'a', reason: 'transferred', at: at(20) } },
        enqueued('c1', 20, { priority: 10, skills: [], preferredAgentId: 'b', reason: 'transferred' }),
      ]);
    spec
      .given(owned)
      .when({ type: 'Transfer', conversationId: 'c1', to: { kind: 'queue', queueId: 'sales' }, mode: 'cold', offerId: 't1', policy, at: at(20) })
      .then([
        { type: 'routing.released', data: { conversationId: 'c1', agentId: 'a', reason: 'transferred', at: at(20) } },
        { type: 'routing.left', data: { conversationId: 'c1', reason: 'transferred', toQueueId: 'sales', at: at(20) } },
      ]);
  });
  it('an agent going offline: live chats back to the queue, messaging threads keep their owner, open offers withdrawn', () => {
    const history = [...owned, enqueued('m1', 1, { kind: 'messaging' }), assigned('m1', 'a', 11), enqueued('c2', 2), offered('c2', 'a', 'o9', 12)];
    spec
      .given(history)
      .when({ type: 'AgentOffline', agentId: 'a', policy, at: at(50) })
      .then([
        { type: 'routing.offer-declined', data: { conversationId: 'c2', offerId: 'o9', agentId: 'a', reason: 'agent-offline', at: at(50) } },
        { type: 'routing.released', data: { conversationId: 'c1', agentId: 'a', reason: 'agent-offline', at: at(50) } },
        enqueued('c1', 50, { priority: 10, skills: [], reason: 'requeued' }),
      ]);
    spec
      .given(history)
      .when({ type: 'AgentOffline', agentId: 'a', policy: { ...policy, requeueLiveOnOffline: false }, at: at(50) })
      .then([{ type: 'routing.offer-declined', data: { conversationId: 'c2', offerId: 'o9', agentId: 'a', reason: 'agent-offline', at: at(50) } }]);
  });
});

describe('routing: replay', () => {
  it('applies a batch in one pass to the same state as event by event', () => {
    const events: RoutingEvent[] = [
      ...Array.from({ length: 12 }, (_, i) => enqueued(`c${i}`, i, { priority: i % 3 })),
      offered('c1', 'a', 'o1', 20),
      offered('c2', 'b', 'o2', 20),
      { type: 'routing.offer-declined', data: { conversationId: 'c2', offerId: 'o2', agentId: 'b', reason: 'declined', at: at(21) } },
      { type: 'routing.round-started', data: { conversationId: 'c2', round: 2, at: at(21.5) } },
      { type: 'routing.offer-declined', data: { conversationId: 'c5', offerId: 'o5', agentId: 'b', reason: 'timed-out', at: at(21.7) } },
      assigned('c1', 'a', 22, 'accept', 'o1'),
      { type: 'routing.escalated', data: { conversationId: 'c3', step: 1, action: 'widen-skills', at: at(23) } },
      { type: 'routing.left', data: { conversationId: 'c4', reason: 'overflow', toQueueId: 'q2', at: at(24) } },
      { type: 'routing.released', data: { conversationId: 'c1', agentId: 'a', reason: 'resolved', at: at(25) } },
      enqueued('c1', 26),
    ];
    assert.deepEqual(evolveAll(initialState(), events), events.reduce(evolve, initialState()));
  });
});
