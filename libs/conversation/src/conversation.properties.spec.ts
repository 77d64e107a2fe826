import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { fold } from '@parley/decider';
import { EVENT_CONTRACTS, type Channel, type ConversationEvent } from '@parley/contracts';
import type { ConversationCommand } from './conversation.commands';
import { conversationDecider } from './conversation.decider';
import { evolve, evolveAll, initialState, takeFacts, withFacts } from './conversation.state';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const channels: Channel[] = ['web', 'whatsapp', 'messenger', 'apple'];
const agent = (n: number) => ({ kind: 'agent' as const, agentId: `agent-${n % 3}` });

/** Commands with small, colliding ids, so that duplicates, conflicts and errors happen. */
const command = (at: string): fc.Arbitrary<ConversationCommand> =>
  fc.oneof(
    fc.record({ ch: fc.constantFrom(...channels), n: fc.nat(6) }).map(({ ch, n }) => ({
      type: 'ReceiveMessage' as const,
      conversationId: 'c',
      customerId: 'u',
      messageId: `in-${ch}-${n}`,
      channel: ch,
      channelMessageId: `x-${n}`,
      text: 't',
      at,
    })),
    fc.record({ ch: fc.option(fc.constantFrom(...channels), { nil: undefined }), n: fc.nat(6), tag: fc.boolean() }).map(({ ch, n, tag }) => ({
      type: 'SendMessage' as const,
      messageId: `out-${n}`,
      ...(ch ? { channel: ch } : {}),
      ...(tag && ch === 'messenger' ? { tag: 'HUMAN_AGENT' as const } : {}),
      author: agent(n),
      text: 'r',
      at,
    })),
    fc
      .record({ n: fc.nat(6), s: fc.constantFrom('delivered' as const, 'read' as const, 'failed' as const), ch: fc.constantFrom(...channels) })
      .map(({ n, s, ch }) => ({ type: 'RecordReceipt' as const, channel: ch, status: s, reader: 'customer' as const, messageId: `out-${n}`, at })),
    fc
      .constantFrom(...channels)
      .map((ch) => ({ type: 'RecordReceipt' as const, channel: ch, status: 'read' as const, reader: 'agent' as const, upTo: at, at })),
    fc.nat(3).map((n) => ({ type: 'StartSession' as const, conversationId: 'c', customerId: 'u', sessionId: `s${n}`, at })),
    fc.nat(3).map((n) => ({ type: 'EndSession' as const, sessionId: `s${n}`, reason: 'left-page' as const, at })),
    fc.constantFrom<ConversationCommand['type']>('Resolve', 'MarkPending', 'Snooze').map((type) => ({ type, by: agent(0), at }) as ConversationCommand),
    fc.constant({ type: 'Reopen' as const, reason: 'agent' as const, at }),
    fc.nat(2).map((n) => ({ type: 'Queue' as const, queueId: `q${n}`, priority: n, reason: 'new' as const, at })),
    fc.nat(3).map((n) => ({ type: 'Offer' as const, offerId: `o${n}`, agentId: `agent-${n}`, expiresAt: at, at })),
    fc.nat(3).map((n) => ({ type: 'DeclineOffer' as const, offerId: `o${n}`, reason: 'timed-out' as const, at })),
    fc.nat(3).map((n) => ({ type: 'Assign' as const, agentId: `agent-${n}`, at })),
    fc.constant({ type: 'Unassign' as const, reason: 'agent-offline' as const, at }),
    fc.nat(2).map((n) => ({ type: 'Tag' as const, tag: `t${n}`, at })),
    fc.nat(2).map((n) => ({ type: 'Untag' as const, tag: `t${n}`, at })),
    fc.integer({ min: 1, max: 5 }).map((score) => ({ type: 'RecordSatisfaction' as const, score, at })),
    fc.nat(6).map((n) => ({ type: 'EditMessage' as const, messageId: `out-${n}`, text: 'e', by: 'agent' as const, at })),
    fc.nat(6).map((n) => ({ type: 'DeleteMessage' as const, messageId: `in-web-${n}`, by: 'customer' as const, at })),
    fc.constant({ type: 'CloseChannel' as const, channel: 'apple' as const, at }),
  );

/** Valid histories: commands run through decide, in time order, keeping what it accepted. */
const history: fc.Arbitrary<ConversationEvent[]> = fc
  .array(fc.integer({ min: 1, max: 8 * 3600 }), { minLength: 1, maxLength: 60, size: 'max' })
  .chain((gaps) => {
    let t = T0;
    const times = gaps.map((g) => new Date((t += g * 1000)).toISOString());
    return fc.tuple(...times.map(command));
  })
  .map((commands) => {
    const events: ConversationEvent[] = [];
    let state = conversationDecider.initialState();
    for (const c of commands) {
      try {
        const produced = conversationDecider.decide(c, state);
        events.push(...produced);
        state = fold(conversationDecider, produced, state);
      } catch {
        // Refused commands leave no trace, as in the service.
      }
    }
    return events;
  });

describe('conversation properties (fast-check)', () => {
  it('generates histories rich enough to mean something', () => {
    // A fixed seed: this checks the generator, not the domain, and must not flicker.
    const samples = fc.sample(history, { numRuns: 300, seed: 42 });
    const seen = new Set(samples.flat().map((e) => e.type));
    for (const type of [
      'conversation.message-received',
      'conversation.message-sent',
      'conversation.receipt-recorded',
      'conversation.resolved',
      'conversation.reopened',
      'conversation.offered',
      'conversation.assigned',
      'conversation.session-ended',
      'conversation.message-edited',
      'conversation.satisfaction-recorded',
      'conversation.channel-closed',
    ]) {
      assert.ok(seen.has(type as ConversationEvent['type']), `no ${type} in 300 histories`);
    }
    const average = samples.reduce((n, s) => n + s.length, 0) / samples.length;
    assert.ok(average > 8, `histories are too short: ${average} events on average`);
  });

  it('every decided event matches its versioned schema', () => {
    fc.assert(
      fc.property(history, (events) => {
        for (const e of events) {
          const c = EVENT_CONTRACTS.get(e.type);
          assert.ok(c, `no contract for ${e.type}`);
          assert.deepEqual(c.schema.parse(e.data), e.data, e.type);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('evolveAll (linear, in place) gives the same state as folding evolve one event at a time, and leaves its input alone', () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), fc.nat(events.length))),
        ([events, cut]) => {
          const start = events.slice(0, cut).reduce(evolve, initialState());
          const frozen = JSON.stringify(start);
          assert.deepEqual(evolveAll(start, events.slice(cut)), events.slice(cut).reduce(evolve, start));
          assert.equal(JSON.stringify(start), frozen);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('message facts moved beside a snapshot and joined back in give the state that kept them all', () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), fc.nat(events.length))),
        ([events, cut]) => {
          const taken = takeFacts(fold(conversationDecider, events.slice(0, cut)));
          const stored = new Map<string, unknown[]>();
          for (const f of taken.facts) stored.set(f.key, [...(stored.get(f.key) ?? []), JSON.parse(JSON.stringify(f.value))]);
          const after = fold(conversationDecider, events.slice(cut), taken.state);
          assert.deepEqual(withFacts(after, stored), fold(conversationDecider, events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('state from any snapshot (stored as JSON) plus the tail equals state from the first event', () => {
    fc.assert(
      fc.property(
        history.chain((events) => fc.tuple(fc.constant(events), fc.nat(events.length))),
        ([events, cut]) => {
          const snapshot = JSON.parse(JSON.stringify(fold(conversationDecider, events.slice(0, cut))));
          assert.deepEqual(fold(conversationDecider, events.slice(cut), snapshot), fold(conversationDecider, events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('deciding again on the state a decision produced is stable for duplicates (a redelivered message adds nothing)', () => {
    fc.assert(
      fc.property(history, (events) => {
        const state = fold(conversationDecider, events);
        for (const e of events) {
          if (e.type !== 'conversation.message-received') continue;
          const again = conversationDecider.decide(
            {
              type: 'ReceiveMessage',
              conversationId: 'c',
              customerId: 'u',
              messageId: 'another-id',
              channel: e.data.channel,
              channelMessageId: e.data.channelMessageId,
              text: 't',
              at: e.data.at,
            },
            state,
          );
          assert.deepEqual(again, []);
        }
      }),
      { numRuns: 200 },
    );
  });
});
