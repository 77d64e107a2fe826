import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { ConversationEvent } from '@parley/contracts';
import { TimelineBuilder, conversationView } from './conversation.timeline';

const at = (m: number) => new Date(Date.parse('2026-08-01T10:00:00.000Z') + m * 60_000).toISOString();
const agent = { kind: 'agent' as const, agentId: 'a1' };
const events: ConversationEvent[] = [
  { type: 'conversation.started', data: { conversationId: 'c', customerId: 'u', channel: 'web', at: at(0) } },
  { type: 'conversation.session-started', data: { sessionId: 's1', device: 'laptop', at: at(0) } },
  {
    type: 'conversation.message-received',
    data: { messageId: 'm1', channel: 'web', channelMessageId: 'w1', device: 'laptop', text: 'hi', attachments: [], at: at(1) },
  },
  { type: 'conversation.message-sent', data: { messageId: 'o1', channel: 'web', author: agent, text: 'hello', attachments: [], at: at(2) } },
  { type: 'conversation.session-ended', data: { sessionId: 's1', reason: 'left-page', at: at(3) } },
  { type: 'conversation.message-edited', data: { messageId: 'o1', text: 'hello there', by: 'agent', at: at(4) } },
  {
    type: 'conversation.message-received',
    data: { messageId: 'm2', channel: 'whatsapp', channelMessageId: 'wa2', text: 'on my phone now', attachments: [], at: at(60) },
  },
  { type: 'conversation.receipt-recorded', data: { channel: 'web', status: 'read', reader: 'customer', messageId: 'o1', at: at(61) } },
  { type: 'conversation.resolved', data: { by: agent, at: at(70) } },
];
const versioned = events.map((event, i) => ({ event, version: i + 1 }));

describe('conversation view', () => {
  it('shows every message across sessions and channels in order, with sessions, edits, receipts and states', () => {
    const view = conversationView(versioned);
    assert.equal(view.version, 9);
    assert.equal(view.state.status, 'resolved');
    assert.deepEqual(
      view.timeline.map((e) =>
        e.kind === 'message'
          ? `${e.inbound ? 'in' : 'out'}:${e.channel}:${e.text}`
          : e.kind === 'session'
            ? `session:${e.started ? 'start' : e.reason}`
            : e.kind === 'status'
              ? `status:${e.status}`
              : e.kind === 'note'
                ? `note:${e.text}`
                : `page:${e.url}`,
      ),
      ['status:open', 'session:start', 'in:web:hi', 'out:web:hello there', 'session:left-page', 'in:whatsapp:on my phone now', 'status:resolved'],
    );
    const reply = view.timeline.find((e) => e.kind === 'message' && e.id === 'o1');
    assert.ok(reply && reply.kind === 'message');
    assert.deepEqual(reply.edits, [{ text: 'hello', at: at(4) }], 'the original is kept for auditors');
    assert.equal(reply.readAt, at(61));
    assert.equal(reply.deliveredAt, at(61), 'read implies delivered');
    assert.equal(view.lastActivityAt, at(60));
  });

  it('replays the conversation as it stood at a moment', () => {
    const then = conversationView(versioned, at(3.5));
    assert.equal(then.version, 5);
    assert.equal(then.state.status, 'open');
    const reply = then.timeline.find((e) => e.kind === 'message' && e.id === 'o1');
    assert.ok(reply && reply.kind === 'message' && reply.text === 'hello' && reply.readAt === null);
  });

  it('marks erased messages', () => {
    const erased = conversationView([
      {
        event: {
          type: 'conversation.message-received',
          data: { messageId: 'm', channel: 'web', channelMessageId: 'w', text: { erased: true } as unknown as string, attachments: [], at: at(0) },
        },
        version: 1,
      },
    ]);
    const m = erased.timeline[0]!;
    assert.ok(m.kind === 'message' && m.erased && m.text === null);
  });

  it('goes on from a stored view (JSON, as a read model keeps it) to the same view, ignoring redelivered events', () => {
    const whole = conversationView(versioned);
    for (let cut = 0; cut <= versioned.length; cut++) {
      const stored = JSON.parse(JSON.stringify(conversationView(versioned.slice(0, cut))));
      const builder = new TimelineBuilder(stored);
      for (const e of versioned) builder.apply(e); // the first `cut` come again
      assert.deepEqual(builder.view(), whole, `resumed after ${cut} events`);
    }
  });

  it('carries the response and resolution times so far', () => {
    const view = conversationView(versioned);
    assert.equal(view.timings.firstResponseSeconds, 60);
    assert.deepEqual(view.timings.resolutionSeconds, [70 * 60]);
    assert.equal(view.timings.waitingSince, null);
  });
});
