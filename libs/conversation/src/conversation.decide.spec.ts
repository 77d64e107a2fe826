import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { InvalidArgumentError } from '@parley/errors';
import type { ConversationEvent } from '@parley/contracts';
import { specFor } from '@parley/decider/testing';
import { conversationDecider } from './conversation.decider';
import { conversationView } from './conversation.timeline';
import { evolveAll, initialState } from './conversation.state';
import {
  AttachmentTooLargeError,
  ChannelClosedError,
  ChannelNotReachableError,
  ChannelWindowClosedError,
  ConversationNotStartedError,
  InvalidTransitionError,
  MessageNotEditableError,
  MessageNotFoundError,
} from './conversation.errors';

const spec = specFor(conversationDecider);
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (hours: number) => new Date(T0 + hours * 3_600_000).toISOString();
const agent = { kind: 'agent' as const, agentId: 'agent-1' };

const started = (channel: 'web' | 'whatsapp' | 'messenger' | 'apple' = 'web'): ConversationEvent => ({
  type: 'conversation.started',
  data: { conversationId: 'conv-1', customerId: 'cust-1', channel, at: at(0) },
});
const received = (channel: 'web' | 'whatsapp' | 'messenger' | 'apple', hours: number, id = `m-in-${channel}-${hours}`): ConversationEvent => ({
  type: 'conversation.message-received',
  data: { messageId: id, channel, channelMessageId: `ch-${id}`, text: 'hello', attachments: [], at: at(hours) },
});
const sent = (channel: 'web' | 'whatsapp' | 'messenger' | 'apple', hours: number, id = `m-out-${hours}`): ConversationEvent => ({
  type: 'conversation.message-sent',
  data: { messageId: id, channel, author: agent, text: 'hi', attachments: [], at: at(hours) },
});
const send = (hours: number, extra: Record<string, unknown> = {}) => ({
  type: 'SendMessage' as const,
  messageId: 'reply-1',
  author: agent,
  text: 'an answer',
  at: at(hours),
  ...extra,
});

describe('conversation: receiving messages', () => {
  it('starts the conversation on the first customer message', () => {
    spec
      .given([])
      .when({
        type: 'ReceiveMessage',
        conversationId: 'conv-1',
        customerId: 'cust-1',
        messageId: 'm1',
        channel: 'whatsapp',
        channelMessageId: 'wamid.1',
        text: 'hi',
        device: 'phone',
        at: at(0),
      })
      .then([
        { type: 'conversation.started', data: { conversationId: 'conv-1', customerId: 'cust-1', channel: 'whatsapp', at: at(0) } },
        {
          type: 'conversation.message-received',
          data: { messageId: 'm1', channel: 'whatsapp', channelMessageId: 'wamid.1', device: 'phone', text: 'hi', attachments: [], at: at(0) },
        },
      ]);
  });

  it('drops a redelivered message by its channel message id', () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0, 'm1')])
      .when({
        type: 'ReceiveMessage',
        conversationId: 'conv-1',
        customerId: 'cust-1',
        messageId: 'm-other',
        channel: 'whatsapp',
        channelMessageId: 'ch-m1',
        text: 'hi',
        at: at(1),
      })
      .thenNothing();
  });

  it('reopens a resolved conversation when the customer writes', () => {
    spec
      .given([started(), received('web', 0), { type: 'conversation.resolved', data: { by: agent, at: at(1) } }])
      .when({
        type: 'ReceiveMessage',
        conversationId: 'conv-1',
        customerId: 'cust-1',
        messageId: 'm2',
        channel: 'web',
        channelMessageId: 'w2',
        text: 'again',
        at: at(30),
      })
      .then([
        { type: 'conversation.reopened', data: { reason: 'customer-message', at: at(30) } },
        {
          type: 'conversation.message-received',
          data: { messageId: 'm2', channel: 'web', channelMessageId: 'w2', text: 'again', attachments: [], at: at(30) },
        },
      ]);
  });

  it('reopens a snoozed conversation when the customer writes', () => {
    spec
      .given([started(), received('web', 0), { type: 'conversation.snoozed', data: { by: agent, at: at(1) } }])
      .when({
        type: 'ReceiveMessage',
        conversationId: 'conv-1',
        customerId: 'cust-1',
        messageId: 'm2',
        channel: 'web',
        channelMessageId: 'w2',
        text: 'x',
        at: at(2),
      })
      .then([
        { type: 'conversation.reopened', data: { reason: 'customer-message', at: at(2) } },
        { type: 'conversation.message-received', data: { messageId: 'm2', channel: 'web', channelMessageId: 'w2', text: 'x', attachments: [], at: at(2) } },
      ]);
  });

  it('refuses an empty message', () => {
    spec
      .given([])
      .when({ type: 'ReceiveMessage', conversationId: 'c', customerId: 'u', messageId: 'm', channel: 'web', channelMessageId: 'w', at: at(0) })
      .thenThrows(InvalidArgumentError);
  });

  it('moves a pending conversation back to open when the customer answers', () => {
    const state = spec
      .given([started(), received('web', 0), { type: 'conversation.marked-pending', data: { by: agent, at: at(1) } }, received('web', 2)])
      .state();
    if (state.status !== 'open') throw new Error(`expected open, got ${state.status}`);
  });
});

describe('conversation: channel rules', () => {
  it('refuses a text longer than the channel or the event contract carries, and takes one that fits', () => {
    const sentText = (channel: 'web' | 'whatsapp' | 'messenger', text: string): ConversationEvent => ({
      type: 'conversation.message-sent',
      data: { messageId: 'reply-1', channel, author: agent, text, attachments: [], at: at(1) },
    });
    const limits = [
      ['whatsapp', 4_096],
      ['messenger', 2_000],
      ['web', 65_536],
    ] as const;
    for (const [channel, limit] of limits) {
      spec
        .given([started(channel), received(channel, 0)])
        .when(send(1, { text: 'x'.repeat(limit) }))
        .then([sentText(channel, 'x'.repeat(limit))]);
      spec
        .given([started(channel), received(channel, 0)])
        .when(send(1, { text: 'x'.repeat(limit + 1) }))
        .thenThrows(InvalidArgumentError);
    }
    // Characters, not UTF-16 units: 4,096 emoji fit WhatsApp although they are 8,192 units.
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when(send(1, { text: '😀'.repeat(4_096) }))
      .then([sentText('whatsapp', '😀'.repeat(4_096))]);
    // An agent's edit is held to the channel it went out on; a customer's to the contract.
    const whatsapp = [started('whatsapp'), received('whatsapp', 0), sent('whatsapp', 1, 'o1')];
    spec
      .given(whatsapp)
      .when({ type: 'EditMessage', messageId: 'o1', text: 'y'.repeat(4_097), by: 'agent', at: at(2) })
      .thenThrows(InvalidArgumentError);
    spec
      .given(whatsapp)
      .when({ type: 'EditMessage', messageId: 'm-in-whatsapp-0', text: 'y'.repeat(65_537), by: 'customer', at: at(2) })
      .thenThrows(InvalidArgumentError);
    spec
      .given([])
      .when({
        type: 'ReceiveMessage',
        conversationId: 'conv-1',
        customerId: 'cust-1',
        messageId: 'm1',
        channel: 'custom',
        channelMessageId: 'c.1',
        text: 'z'.repeat(65_537),
        at: at(0),
      })
      .thenThrows(InvalidArgumentError);
  });

  it('refuses an attachment larger than the channel carries, and takes one that fits', () => {
    const image = (sizeBytes: number) => ({ ref: 'https://cdn.example/p.jpg', mimeType: 'image/jpeg', sizeBytes });
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when(send(1, { attachments: [image(6 * 1024 * 1024)] }))
      .thenThrows(AttachmentTooLargeError, { channel: 'whatsapp', limitBytes: 5 * 1024 * 1024 });
    spec
      .given([started('messenger'), received('messenger', 0)])
      .when(send(1, { attachments: [image(6 * 1024 * 1024)] }))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'messenger', author: agent, text: 'an answer', attachments: [image(6 * 1024 * 1024)], at: at(1) },
        },
      ]);
  });

  it("WhatsApp: a free-form reply within 24 hours of the customer's last message", () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when(send(23.9))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'whatsapp', author: agent, text: 'an answer', attachments: [], at: at(23.9) },
        },
      ]);
  });

  it('WhatsApp: after 24 hours a free-form reply is refused, naming the template as the way out', () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when(send(24.1))
      .thenThrows(ChannelWindowClosedError, { channel: 'whatsapp', windowHours: 24, remedy: 'template', lastCustomerMessageAt: at(0) });
  });

  it('WhatsApp: after 24 hours an approved template may be sent', () => {
    const template = { name: 'order_update', language: 'en_US', parameters: ['1234'] };
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when({ type: 'SendMessage', messageId: 'reply-1', author: agent, template, at: at(48) })
      .then([{ type: 'conversation.message-sent', data: { messageId: 'reply-1', channel: 'whatsapp', author: agent, attachments: [], template, at: at(48) } }]);
  });

  it('WhatsApp: the window counts from the latest customer message, not the first', () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0), received('whatsapp', 20)])
      .when(send(40))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'whatsapp', author: agent, text: 'an answer', attachments: [], at: at(40) },
        },
      ]);
  });

  it('Messenger: 24 hours for a standard reply', () => {
    spec
      .given([started('messenger'), received('messenger', 0)])
      .when(send(25))
      .thenThrows(ChannelWindowClosedError, { channel: 'messenger', remedy: 'human-agent-tag' });
  });

  it('Messenger: with HUMAN_AGENT a human agent may answer up to 7 days', () => {
    spec
      .given([started('messenger'), received('messenger', 0)])
      .when(send(24 * 6, { tag: 'HUMAN_AGENT' }))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'messenger', author: agent, text: 'an answer', attachments: [], tag: 'HUMAN_AGENT', at: at(24 * 6) },
        },
      ]);
  });

  it('Messenger: HUMAN_AGENT does not reach past 7 days', () => {
    spec
      .given([started('messenger'), received('messenger', 0)])
      .when(send(24 * 7 + 1, { tag: 'HUMAN_AGENT' }))
      .thenThrows(ChannelWindowClosedError, { channel: 'messenger', windowHours: 168, remedy: null });
  });

  it('Messenger: HUMAN_AGENT is for humans, not bots', () => {
    spec
      .given([started('messenger'), received('messenger', 0)])
      .when(send(30, { tag: 'HUMAN_AGENT', author: { kind: 'bot', botId: 'b' } }))
      .thenThrows(ChannelWindowClosedError, { channel: 'messenger' });
  });

  it('Apple: the business cannot start a conversation the customer did not start there', () => {
    spec
      .given([started('web'), received('web', 0)])
      .when(send(1, { channel: 'apple' }))
      .thenThrows(ChannelNotReachableError, { channel: 'apple', reason: 'customer-must-start' });
  });

  it('Apple: once the customer closed it, nothing more may be sent', () => {
    spec
      .given([started('apple'), received('apple', 0), { type: 'conversation.channel-closed', data: { channel: 'apple', at: at(1) } }])
      .when(send(1.5))
      .thenThrows(ChannelClosedError, { channel: 'apple' });
  });

  it("Apple: replies while the customer's conversation is open, with no time window", () => {
    spec
      .given([started('apple'), received('apple', 0)])
      .when(send(24 * 30))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'apple', author: agent, text: 'an answer', attachments: [], at: at(24 * 30) },
        },
      ]);
  });

  it('replies on the channel the customer last used', () => {
    spec
      .given([started('web'), received('web', 0), received('whatsapp', 1)])
      .when(send(2))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'whatsapp', author: agent, text: 'an answer', attachments: [], at: at(2) },
        },
      ]);
  });

  it("the agent may pick another of the customer's channels the rules allow: the visitor left the site, the answer goes to WhatsApp", () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0), received('web', 1)])
      .when(send(3, { channel: 'whatsapp' }))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'whatsapp', author: agent, text: 'an answer', attachments: [], at: at(3) },
        },
      ]);
  });

  it('a linked channel the customer never wrote on takes templates only (WhatsApp)', () => {
    spec
      .given([started('web'), received('web', 0)])
      .when(send(1, { channel: 'whatsapp', reachableChannels: ['whatsapp'] }))
      .thenThrows(ChannelWindowClosedError, { remedy: 'template' });
  });

  it('a channel the customer has no identity on is refused', () => {
    spec
      .given([started('web'), received('web', 0)])
      .when(send(1, { channel: 'messenger' }))
      .thenThrows(ChannelNotReachableError, { channel: 'messenger', reason: 'no-identity' });
  });

  it('web replies have no window: the visitor sees them on return', () => {
    spec
      .given([started('web'), received('web', 0)])
      .when(send(24 * 90))
      .then([
        {
          type: 'conversation.message-sent',
          data: { messageId: 'reply-1', channel: 'web', author: agent, text: 'an answer', attachments: [], at: at(24 * 90) },
        },
      ]);
  });

  it('templates belong to WhatsApp and tags to Messenger', () => {
    spec
      .given([started('web'), received('web', 0)])
      .when(send(1, { template: { name: 't', language: 'en', parameters: [] } }))
      .thenThrows(InvalidArgumentError);
    spec
      .given([started('web'), received('web', 0)])
      .when(send(1, { tag: 'HUMAN_AGENT' }))
      .thenThrows(InvalidArgumentError);
  });

  it('nothing is sent before the customer wrote', () => {
    spec.given([]).when(send(0)).thenThrows(ConversationNotStartedError);
  });

  it('a message sent twice (same id) is sent once', () => {
    spec
      .given([started('web'), received('web', 0), sent('web', 1, 'reply-1')])
      .when(send(2))
      .thenNothing();
  });
});

describe('conversation: edits and deletions', () => {
  it('the author edits; the original stays in the log', () => {
    spec
      .given([started(), received('web', 0, 'm1')])
      .when({ type: 'EditMessage', messageId: 'm1', text: 'fixed', by: 'customer', at: at(1) })
      .then([{ type: 'conversation.message-edited', data: { messageId: 'm1', text: 'fixed', by: 'customer', at: at(1) } }]);
  });
  it("nobody edits someone else's message", () => {
    spec
      .given([started(), received('web', 0, 'm1')])
      .when({ type: 'EditMessage', messageId: 'm1', text: 'x', by: 'agent', at: at(1) })
      .thenThrows(MessageNotEditableError, { reason: 'not-author' });
  });
  it('a deleted message cannot be edited, and deleting it again changes nothing', () => {
    const history = [
      started(),
      received('web', 0, 'm1'),
      { type: 'conversation.message-deleted', data: { messageId: 'm1', by: 'customer', at: at(1) } } as ConversationEvent,
    ];
    spec
      .given(history)
      .when({ type: 'EditMessage', messageId: 'm1', text: 'x', by: 'customer', at: at(2) })
      .thenThrows(MessageNotEditableError, { reason: 'deleted' });
    spec
      .given(history)
      .when({ type: 'DeleteMessage', messageId: 'm1', by: 'customer', at: at(2) })
      .thenNothing();
  });
  it('an unknown message is not found', () => {
    spec
      .given([started()])
      .when({ type: 'DeleteMessage', messageId: 'nope', by: 'agent', at: at(1) })
      .thenThrows(MessageNotFoundError);
  });
});

describe('conversation: receipts, in any order', () => {
  const history = [started('whatsapp'), received('whatsapp', 0), sent('whatsapp', 1, 'o1')];
  const receipt = (status: 'delivered' | 'read', hours: number, extra: Record<string, unknown> = {}) => ({
    type: 'RecordReceipt' as const,
    channel: 'whatsapp' as const,
    status,
    reader: 'customer' as const,
    messageId: 'o1',
    at: at(hours),
    ...extra,
  });
  const recorded = (status: 'delivered' | 'read', hours: number): ConversationEvent => ({
    type: 'conversation.receipt-recorded',
    data: { channel: 'whatsapp', status, reader: 'customer', messageId: 'o1', at: at(hours) },
  });

  it('records delivery, then read', () => {
    spec
      .given(history)
      .when(receipt('delivered', 1.1))
      .then([recorded('delivered', 1.1)]);
    spec
      .given([...history, recorded('delivered', 1.1)])
      .when(receipt('read', 1.2))
      .then([recorded('read', 1.2)]);
  });
  it('a late delivery receipt keeps the message read: read implies delivered', () => {
    spec
      .given([...history, recorded('read', 1.2)])
      .when(receipt('delivered', 1.3))
      .thenNothing();
    // An earlier delivery time is still worth keeping, and the message stays read.
    spec
      .given([...history, recorded('read', 1.2)])
      .when(receipt('delivered', 1.1))
      .then([recorded('delivered', 1.1)]);
    const state = spec.given([...history, recorded('read', 1.2), recorded('delivered', 1.1)]).state();
    const m = state.messages['o1']!;
    if (m.readAt !== at(1.2) || m.deliveredAt !== at(1.1)) throw new Error(`got read ${m.readAt}, delivered ${m.deliveredAt}`);
  });
  it('a duplicate receipt changes nothing', () => {
    spec
      .given([...history, recorded('delivered', 1.1)])
      .when(receipt('delivered', 1.1))
      .thenNothing();
  });
  it("matches a status that names only the channel's id of a reply, once the channel's acceptance is recorded", () => {
    const accepted: ConversationEvent = {
      type: 'conversation.message-accepted',
      data: { messageId: 'o1', channel: 'whatsapp', channelMessageId: 'wamid.o1', at: at(1.05) },
    };
    spec
      .given(history)
      .when({ type: 'RecordAcceptance', channel: 'whatsapp', messageId: 'o1', channelMessageId: 'wamid.o1', at: at(1.05) })
      .then([accepted]);
    spec
      .given([...history, accepted])
      .when({ type: 'RecordAcceptance', channel: 'whatsapp', messageId: 'o1', channelMessageId: 'wamid.o1', at: at(1.06) })
      .thenNothing();
    spec
      .given([...history, accepted])
      .when(receipt('read', 1.2, { messageId: undefined, channelMessageId: 'wamid.o1' }))
      .then([recorded('read', 1.2)]);
    spec
      .given([...history, accepted])
      .when(receipt('read', 1.2, { messageId: undefined, channelMessageId: 'wamid.someone-elses' }))
      .thenThrows(MessageNotFoundError);
    spec
      .given(history)
      .when({ type: 'RecordAcceptance', channel: 'whatsapp', messageId: 'no-such-reply', channelMessageId: 'wamid.x', at: at(1.05) })
      .thenThrows(MessageNotFoundError);
  });
  it("Messenger's watermark marks every earlier message at once: the state keeps it as a mark, the timeline marks the messages", () => {
    const messenger = [started('messenger'), received('messenger', 0), sent('messenger', 1, 'a'), sent('messenger', 2, 'b'), sent('messenger', 5, 'c')];
    const mark = (upTo: number, when: number): ConversationEvent => ({
      type: 'conversation.receipt-recorded',
      data: { channel: 'messenger', status: 'read', reader: 'customer', upTo: at(upTo), at: at(when) },
    });
    const command = (upTo: number, when: number) => ({
      type: 'RecordReceipt' as const,
      channel: 'messenger' as const,
      status: 'read' as const,
      reader: 'customer' as const,
      upTo: at(upTo),
      at: at(when),
    });
    spec
      .given(messenger)
      .when(command(3, 4))
      .then([mark(3, 4)]);
    assert.deepEqual(spec.given([...messenger, mark(3, 4)]).state().marks['messenger:out'], {
      firstAt: at(1),
      lastAt: at(5),
      deliveredUpTo: at(3),
      readUpTo: at(3),
    });
    // Nothing new under the mark: nothing to record; past it, a message is.
    spec
      .given([...messenger, mark(3, 4)])
      .when(command(3, 4.5))
      .thenNothing();
    spec
      .given([...messenger, mark(3, 4)])
      .when(command(6, 7))
      .then([mark(6, 7)]);
    // Before the first message, a mark covers nothing.
    spec.given(messenger).when(command(0.5, 4)).thenNothing();
    const view = conversationView([...messenger, mark(3, 4)].map((event, i) => ({ event, version: i + 1 })));
    const read = view.timeline.flatMap((e) => (e.kind === 'message' && e.readAt !== null ? [e.id] : [])).sort();
    assert.deepEqual(read, ['a', 'b']);
  });
});

describe('conversation: typing and sessions', () => {
  it('typing starts and stops once', () => {
    spec
      .given([started()])
      .when({ type: 'StartTyping', by: 'customer', channel: 'web', at: at(1) })
      .then([{ type: 'conversation.typing-started', data: { by: 'customer', channel: 'web', at: at(1) } }]);
    spec
      .given([started(), { type: 'conversation.typing-started', data: { by: 'customer', channel: 'web', at: at(1) } }])
      .when({ type: 'StartTyping', by: 'customer', channel: 'web', at: at(1) })
      .thenNothing();
  });
  it('a live-chat session starts the conversation if needed, and its end never ends the conversation', () => {
    spec
      .given([])
      .when({ type: 'StartSession', conversationId: 'conv-1', customerId: 'cust-1', sessionId: 's1', device: 'laptop', at: at(0) })
      .then([
        { type: 'conversation.started', data: { conversationId: 'conv-1', customerId: 'cust-1', channel: 'web', at: at(0) } },
        { type: 'conversation.session-started', data: { sessionId: 's1', device: 'laptop', at: at(0) } },
      ]);
    const after = spec
      .given([
        started(),
        { type: 'conversation.session-started', data: { sessionId: 's1', at: at(0) } },
        { type: 'conversation.session-ended', data: { sessionId: 's1', reason: 'left-page', at: at(1) } },
      ])
      .state();
    if (after.status !== 'open' || after.activeSessions.length !== 0) throw new Error('the conversation must stay open after the session');
  });
});

describe('conversation: states, routing facts, tags, satisfaction', () => {
  it('resolve unassigns the agent, and resolving twice changes nothing', () => {
    const assigned: ConversationEvent = { type: 'conversation.assigned', data: { agentId: 'agent-1', at: at(1) } };
    spec
      .given([started(), assigned])
      .when({ type: 'Resolve', by: agent, at: at(2) })
      .then([
        { type: 'conversation.unassigned', data: { agentId: 'agent-1', reason: 'resolved', at: at(2) } },
        { type: 'conversation.resolved', data: { by: agent, at: at(2) } },
      ]);
    spec
      .given([started(), { type: 'conversation.resolved', data: { by: agent, at: at(2) } }])
      .when({ type: 'Resolve', by: agent, at: at(3) })
      .thenNothing();
  });
  it('snooze must end in the future, and a resolved conversation is not snoozed', () => {
    spec
      .given([started()])
      .when({ type: 'Snooze', by: agent, until: at(0), at: at(1) })
      .thenThrows(InvalidArgumentError);
    spec
      .given([started(), { type: 'conversation.resolved', data: { by: agent, at: at(2) } }])
      .when({ type: 'Snooze', by: agent, at: at(3) })
      .thenThrows(InvalidTransitionError);
  });
  it('an offer is one at a time, and an assignment from a withdrawn offer is refused', () => {
    const offered: ConversationEvent = { type: 'conversation.offered', data: { offerId: 'o1', agentId: 'agent-1', expiresAt: at(1), at: at(0.5) } };
    spec
      .given([started(), offered])
      .when({ type: 'Offer', offerId: 'o2', agentId: 'agent-2', expiresAt: at(2), at: at(0.6) })
      .thenThrows(InvalidTransitionError, { status: 'offered' });
    spec
      .given([started(), offered, { type: 'conversation.offer-declined', data: { offerId: 'o1', agentId: 'agent-1', reason: 'timed-out', at: at(1) } }])
      .when({ type: 'Assign', agentId: 'agent-1', offerId: 'o1', at: at(1.1) })
      .thenThrows(InvalidTransitionError, { status: 'offer-withdrawn' });
  });
  it('a conversation is never assigned to a second agent', () => {
    spec
      .given([started(), { type: 'conversation.assigned', data: { agentId: 'agent-1', at: at(1) } }])
      .when({ type: 'Assign', agentId: 'agent-2', at: at(2) })
      .thenThrows(InvalidTransitionError, { status: 'assigned' });
  });
  it('a cold transfer to a queue lets the agent go; a warm one keeps them until the next accepts', () => {
    const assigned: ConversationEvent = { type: 'conversation.assigned', data: { agentId: 'agent-1', at: at(1) } };
    spec
      .given([started(), assigned])
      .when({ type: 'Transfer', to: { kind: 'queue', queueId: 'billing' }, mode: 'cold', at: at(2) })
      .then([
        { type: 'conversation.transferred', data: { fromAgentId: 'agent-1', to: { kind: 'queue', queueId: 'billing' }, mode: 'cold', at: at(2) } },
        { type: 'conversation.unassigned', data: { agentId: 'agent-1', reason: 'transferred', at: at(2) } },
      ]);
    spec
      .given([started(), assigned])
      .when({ type: 'Transfer', to: { kind: 'agent', agentId: 'agent-2' }, mode: 'warm', at: at(2) })
      .then([{ type: 'conversation.transferred', data: { fromAgentId: 'agent-1', to: { kind: 'agent', agentId: 'agent-2' }, mode: 'warm', at: at(2) } }]);
  });
  it('tags are a set; priority changes only when it changes', () => {
    spec
      .given([started(), { type: 'conversation.tagged', data: { tag: 'vip', at: at(1) } }])
      .when({ type: 'Tag', tag: 'vip', at: at(2) })
      .thenNothing();
    spec
      .given([started()])
      .when({ type: 'SetPriority', priority: 0, at: at(1) })
      .thenNothing();
    spec
      .given([started()])
      .when({ type: 'SetPriority', priority: 5, at: at(1) })
      .then([{ type: 'conversation.priority-set', data: { priority: 5, at: at(1) } }]);
  });
  it('satisfaction is recorded after resolution only, from 1 to 5', () => {
    spec
      .given([started()])
      .when({ type: 'RecordSatisfaction', score: 5, at: at(1) })
      .thenThrows(InvalidTransitionError);
    const resolved = [started(), { type: 'conversation.resolved', data: { by: agent, at: at(1) } } as ConversationEvent];
    spec
      .given(resolved)
      .when({ type: 'RecordSatisfaction', score: 6, at: at(2) })
      .thenThrows(InvalidArgumentError);
    spec
      .given(resolved)
      .when({ type: 'RecordSatisfaction', score: 4, comment: 'quick', at: at(2) })
      .then([{ type: 'conversation.satisfaction-recorded', data: { score: 4, comment: 'quick', at: at(2) } }]);
  });
});

describe('conversation: the queue and agent it keeps', () => {
  it('keeps the queue it last entered after an agent has it, and the agent after it is resolved', () => {
    const state = evolveAll(initialState(), [
      started(),
      { type: 'conversation.queued', data: { queueId: 'sales', priority: 0, reason: 'new', at: at(1) } },
      { type: 'conversation.assigned', data: { agentId: 'agent-1', at: at(2) } },
    ]);
    assert.deepEqual([state.queueId, state.lastQueueId, state.agentId, state.lastAgentId], [null, 'sales', 'agent-1', 'agent-1']);
    const later = evolveAll(state, [
      { type: 'conversation.transferred', data: { fromAgentId: 'agent-1', to: { kind: 'agent', agentId: 'agent-2' }, mode: 'cold', at: at(3) } },
      { type: 'conversation.resolved', data: { by: agent, at: at(4) } },
      { type: 'conversation.unassigned', data: { agentId: 'agent-2', reason: 'resolved', at: at(4) } },
    ]);
    assert.deepEqual([later.queueId, later.lastQueueId, later.agentId, later.lastAgentId], [null, 'sales', null, 'agent-2']);
  });
});

describe('conversation: private notes', () => {
  const note = (noteId = 'note-1', text = 'Refund approved by finance') => ({ type: 'AddNote' as const, noteId, agentId: 'agent-1', text, at: at(1) });
  const added: ConversationEvent = {
    type: 'conversation.note-added',
    data: { noteId: 'note-1', agentId: 'agent-1', text: 'Refund approved by finance', at: at(1) },
  };

  it('adds a note to the conversation', () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when(note())
      .then([added]);
  });

  it('adds a retried note once, and refuses an empty one or one before the conversation', () => {
    spec
      .given([started(), received('web', 0), added])
      .when(note())
      .thenNothing();
    spec
      .given([started(), received('web', 0)])
      .when(note('note-2', '   '))
      .thenThrows(InvalidArgumentError);
    spec.given([]).when(note()).thenThrows(ConversationNotStartedError);
  });

  it('is not a message: it cannot be edited, deleted or receipted as one, and it changes nothing the customer sees', () => {
    spec
      .given([started(), received('web', 0), added])
      .when({ type: 'EditMessage', messageId: 'note-1', text: 'x', by: 'agent', at: at(2) })
      .thenThrows(MessageNotFoundError);
    spec
      .given([started(), received('web', 0), added])
      .when({ type: 'RecordReceipt', channel: 'web', status: 'read', reader: 'customer', messageId: 'note-1', at: at(2) })
      .thenThrows(MessageNotFoundError);
    const before = evolveAll(initialState(), [started(), received('web', 0)]);
    const after = evolveAll(before, [added]);
    assert.deepEqual({ ...after, messages: {} }, { ...before, messages: {} }, 'status, channels and clocks unchanged');
    const view = conversationView([started(), received('web', 0), added].map((event, i) => ({ event, version: i + 1 })));
    assert.deepEqual(view.timeline.at(-1), {
      kind: 'note',
      noteId: 'note-1',
      agentId: 'agent-1',
      text: 'Refund approved by finance',
      erased: false,
      at: at(1),
    });
  });
});

describe('conversation: the satisfaction survey', () => {
  const ask = { messageId: 'survey-1', text: 'How did we do? Reply 1 to 5.' };
  const resolved: ConversationEvent = { type: 'conversation.resolved', data: { by: agent, at: at(2) } };

  it('asks in the widget when the customer last wrote there', () => {
    spec
      .given([started(), received('web', 0)])
      .when({ type: 'Resolve', by: agent, survey: ask, at: at(2) })
      .then([resolved, { type: 'conversation.survey-offered', data: { channel: 'web', at: at(2) } }]);
  });

  it('asks on WhatsApp by a message within its 24-hour window, and not after it', () => {
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when({ type: 'Resolve', by: agent, survey: ask, at: at(2) })
      .then([
        resolved,
        { type: 'conversation.survey-offered', data: { channel: 'whatsapp', messageId: 'survey-1', at: at(2) } },
        {
          type: 'conversation.message-sent',
          data: { messageId: 'survey-1', channel: 'whatsapp', author: { kind: 'system' }, text: ask.text, attachments: [], at: at(2) },
        },
      ]);
    spec
      .given([started('whatsapp'), received('whatsapp', 0)])
      .when({ type: 'Resolve', by: agent, survey: ask, at: at(25) })
      .then([{ type: 'conversation.resolved', data: { by: agent, at: at(25) } }]);
  });

  it("takes a bare 1 to 5 on the survey's channel as the answer, without reopening; anything else reopens as before", () => {
    const offered: ConversationEvent[] = [
      started('whatsapp'),
      received('whatsapp', 0),
      resolved,
      { type: 'conversation.survey-offered', data: { channel: 'whatsapp', messageId: 'survey-1', at: at(2) } },
    ];
    const reply = (text: string) => ({
      type: 'ReceiveMessage' as const,
      conversationId: 'conv-1',
      customerId: 'cust-1',
      messageId: 'm-answer',
      channel: 'whatsapp' as const,
      channelMessageId: 'wamid.answer',
      text,
      at: at(3),
    });
    const answer = (text: string): ConversationEvent => ({
      type: 'conversation.message-received',
      data: { messageId: 'm-answer', channel: 'whatsapp', channelMessageId: 'wamid.answer', text, attachments: [], at: at(3) },
    });
    spec
      .given(offered)
      .when(reply(' 4/5 '))
      .then([answer(' 4/5 '), { type: 'conversation.satisfaction-recorded', data: { score: 4, at: at(3) } }]);
    spec
      .given(offered)
      .when(reply('4 more questions'))
      .then([{ type: 'conversation.reopened', data: { reason: 'customer-message', at: at(3) } }, answer('4 more questions')]);
    // Answered once: a second number is a new message.
    spec
      .given([...offered, { type: 'conversation.satisfaction-recorded', data: { score: 4, at: at(3) } }])
      .when(reply('5'))
      .then([{ type: 'conversation.reopened', data: { reason: 'customer-message', at: at(3) } }, answer('5')]);
  });
});

describe('conversation: the page a widget visitor is on', () => {
  const record = {
    type: 'RecordPageContext' as const,
    url: 'https://shop.example/cart',
    attributes: { cart_value: 120 },
    verifiedAttributes: { plan: 'pro' },
    at: at(1),
  };

  it('records it on a started conversation, in the timeline agents read; before the first message there is nothing to record it on', () => {
    const recorded: ConversationEvent = {
      type: 'conversation.page-context-recorded',
      data: { url: 'https://shop.example/cart', attributes: { cart_value: 120 }, verifiedAttributes: { plan: 'pro' }, at: at(1) },
    };
    spec
      .given([started(), received('web', 0)])
      .when(record)
      .then([recorded]);
    spec.given([]).when(record).thenThrows(ConversationNotStartedError);
    const view = conversationView([started(), received('web', 0), recorded].map((event, i) => ({ event, version: i + 1 })));
    assert.deepEqual(view.timeline.at(-1), {
      kind: 'page',
      url: 'https://shop.example/cart',
      attributes: { cart_value: 120 },
      verifiedAttributes: { plan: 'pro' },
      erased: false,
      at: at(1),
    });
  });
});

describe('conversation: files Parley keeps', () => {
  const file = { ref: 'blob:AAAAAAAAAAAAAAAAAAAAAA', mimeType: 'application/pdf', sizeBytes: 1000, name: 'label.pdf' };
  it('sends them on web chat and WhatsApp, and refuses them on Messenger and Apple, which fetch public URLs only', () => {
    for (const channel of ['web', 'whatsapp'] as const)
      spec
        .given([started(channel), received(channel, 0)])
        .when(send(1, { channel, attachments: [file] }))
        .then([
          { type: 'conversation.message-sent', data: { messageId: 'reply-1', channel, author: agent, text: 'an answer', attachments: [file], at: at(1) } },
        ]);
    for (const channel of ['messenger', 'apple'] as const)
      spec
        .given([started(channel), received(channel, 0)])
        .when(send(1, { channel, attachments: [file] }))
        .thenThrows(InvalidArgumentError);
  });
});
