import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { ConversationEvent } from '@parley/contracts';
import { conversationTimings, type Elapsed } from './conversation.timings';

const T0 = Date.parse('2026-03-06T16:00:00.000Z'); // a Friday, 16:00 UTC
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const agent = { kind: 'agent' as const, agentId: 'a1' };
const history: ConversationEvent[] = [
  { type: 'conversation.started', data: { conversationId: 'c', customerId: 'u', channel: 'web', at: at(0) } },
  { type: 'conversation.message-received', data: { messageId: 'm1', channel: 'web', channelMessageId: 'w1', attachments: [], at: at(0) } },
  { type: 'conversation.queued', data: { queueId: 'q', priority: 0, reason: 'new', at: at(0) } },
  { type: 'conversation.message-received', data: { messageId: 'm2', channel: 'web', channelMessageId: 'w2', attachments: [], at: at(1) } },
  { type: 'conversation.message-sent', data: { messageId: 'b1', channel: 'web', author: { kind: 'bot', botId: 'b' }, attachments: [], at: at(2) } },
  { type: 'conversation.assigned', data: { agentId: 'a1', at: at(4) } },
  { type: 'conversation.message-sent', data: { messageId: 'o1', channel: 'web', author: agent, attachments: [], at: at(5) } },
  { type: 'conversation.message-sent', data: { messageId: 'o2', channel: 'web', author: agent, attachments: [], at: at(6) } },
  { type: 'conversation.message-received', data: { messageId: 'm3', channel: 'whatsapp', channelMessageId: 'wa3', attachments: [], at: at(10) } },
  { type: 'conversation.message-sent', data: { messageId: 'o3', channel: 'whatsapp', author: agent, attachments: [], at: at(13) } },
  { type: 'conversation.resolved', data: { by: agent, at: at(20) } },
  { type: 'conversation.reopened', data: { reason: 'customer-message', at: at(24 * 60 * 3) } },
  { type: 'conversation.message-received', data: { messageId: 'm4', channel: 'web', channelMessageId: 'w4', attachments: [], at: at(24 * 60 * 3) } },
  { type: 'conversation.message-sent', data: { messageId: 'o4', channel: 'web', author: agent, attachments: [], at: at(24 * 60 * 3 + 30) } },
  { type: 'conversation.resolved', data: { by: agent, at: at(24 * 60 * 3 + 60) } },
];

describe('conversation timings', () => {
  it("measures first and next responses from the customer's first unanswered message, across channels", () => {
    const t = conversationTimings(history);
    assert.equal(t.firstResponseSeconds, 5 * 60);
    assert.deepEqual(t.nextResponseSeconds, [3 * 60, 30 * 60]);
    assert.deepEqual(t.queueWaitSeconds, [4 * 60]);
    assert.deepEqual(t.resolutionSeconds, [20 * 60, 60 * 60]);
  });

  it('counts bots only when asked to', () => {
    assert.equal(conversationTimings(history, { botsCount: true }).firstResponseSeconds, 2 * 60);
  });

  it('is recomputed by replay under other rules: the same log, measured in business hours', () => {
    // A toy rule: only 16:00 to 17:00 UTC, Monday to Friday, counts. The customer writes Friday 16:50,
    // the answer comes Monday 16:10: three days by the clock, 20 minutes of business.
    const businessHours: Elapsed = (from, to) => {
      let seconds = 0;
      for (let t = Date.parse(from); t < Date.parse(to); t += 60_000) {
        const d = new Date(t);
        if (d.getUTCHours() === 16 && d.getUTCDay() >= 1 && d.getUTCDay() <= 5) seconds += 60;
      }
      return seconds;
    };
    const weekend: ConversationEvent[] = [
      { type: 'conversation.started', data: { conversationId: 'c', customerId: 'u', channel: 'whatsapp', at: at(50) } },
      { type: 'conversation.message-received', data: { messageId: 'm1', channel: 'whatsapp', channelMessageId: 'wa1', attachments: [], at: at(50) } },
      { type: 'conversation.message-sent', data: { messageId: 'o1', channel: 'whatsapp', author: agent, attachments: [], at: at(3 * 24 * 60 + 10) } },
    ];
    assert.equal(conversationTimings(weekend).firstResponseSeconds, (3 * 24 * 60 - 40) * 60);
    assert.equal(conversationTimings(weekend, { elapsed: businessHours }).firstResponseSeconds, 20 * 60);
  });
});
