import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { ConversationEvent } from '@parley/contracts';
import { conversationMeasures } from './conversation.measures';
import { evolve, initialState } from './conversation.state';
import { conversationTimings } from './conversation.timings';

const T0 = Date.parse('2026-03-06T16:00:00.000Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const agent = { kind: 'agent' as const, agentId: 'a1' };
const history: ConversationEvent[] = [
  { type: 'conversation.started', data: { conversationId: 'c', customerId: 'u', channel: 'whatsapp', at: at(0) } },
  { type: 'conversation.message-received', data: { messageId: 'm1', channel: 'whatsapp', channelMessageId: 'w1', attachments: [], at: at(0) } },
  { type: 'conversation.message-sent', data: { messageId: 'b1', channel: 'whatsapp', author: { kind: 'bot', botId: 'b' }, attachments: [], at: at(2) } },
  { type: 'conversation.message-sent', data: { messageId: 'o1', channel: 'whatsapp', author: agent, attachments: [], at: at(5) } },
  { type: 'conversation.message-received', data: { messageId: 'm2', channel: 'web', channelMessageId: 'w2', attachments: [], at: at(10) } },
  { type: 'conversation.message-sent', data: { messageId: 'o2', channel: 'web', author: agent, attachments: [], at: at(13) } },
  { type: 'conversation.resolved', data: { by: agent, at: at(20) } },
  { type: 'conversation.reopened', data: { reason: 'customer-message', at: at(100) } },
  { type: 'conversation.message-received', data: { messageId: 'm3', channel: 'web', channelMessageId: 'w3', attachments: [], at: at(100) } },
  { type: 'conversation.message-sent', data: { messageId: 'o3', channel: 'web', author: agent, attachments: [], at: at(130) } },
  { type: 'conversation.resolved', data: { by: agent, at: at(160) } },
];

describe('conversation measures (what a writer reports after appending)', () => {
  it('given the whole history at once: opened, the first response by a person, both resolutions, the reopening', () => {
    assert.deepEqual(conversationMeasures(initialState(), history), [
      { kind: 'opened', channel: 'whatsapp' },
      { kind: 'first-response', channel: 'whatsapp', seconds: 5 * 60 },
      { kind: 'resolved', seconds: 20 * 60 },
      { kind: 'reopened', reason: 'customer-message' },
      { kind: 'resolved', seconds: 60 * 60 },
    ]);
  });

  it('appended one event at a time, measures the same as all at once and agrees with the replayed timings', () => {
    let state = initialState();
    const oneByOne = [];
    for (const event of history) {
      oneByOne.push(...conversationMeasures(state, [event]));
      state = evolve(state, event);
    }
    assert.deepEqual(oneByOne, conversationMeasures(initialState(), history));
    const timings = conversationTimings(history);
    assert.equal(oneByOne.find((m) => m.kind === 'first-response')?.['seconds' as never], timings.firstResponseSeconds);
    assert.deepEqual(
      oneByOne.filter((m) => m.kind === 'resolved').map((m) => (m as { seconds: number }).seconds),
      timings.resolutionSeconds,
    );
  });

  it('events that change nothing measurable report nothing; a later answer is not a first response', () => {
    let state = initialState();
    for (const event of history.slice(0, 4)) state = evolve(state, event);
    assert.deepEqual(conversationMeasures(state, [history[5]!]), []);
    assert.deepEqual(conversationMeasures(state, [{ type: 'conversation.tagged', data: { tag: 'vip', at: at(6) } }]), []);
  });
});
