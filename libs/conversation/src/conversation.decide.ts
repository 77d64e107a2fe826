import { InvalidArgumentError } from '@parley/errors';
import type { ConversationEvent } from '@parley/contracts';
import { assertAttachmentsFit, assertMaySend, assertTextFits, MESSAGE_TEXT_MAX, replyChannel } from './channel-rules';
import type { ConversationCommand } from './conversation.commands';
import { ConversationNotStartedError, InvalidTransitionError, MessageNotEditableError, MessageNotFoundError } from './conversation.errors';
import { isKnown, isTaken, type ConversationState, type MessageFacts } from './conversation.state';

type Emit = ConversationEvent[];

function requireStarted(state: ConversationState): void {
  if (state.status === 'new') throw new ConversationNotStartedError();
}

const opt = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

export function decide(command: ConversationCommand, state: ConversationState): Emit {
  switch (command.type) {
    case 'ReceiveMessage': {
      // A redelivered webhook carries the same channel message id: nothing new happened.
      if (state.channelMessageIds[`${command.channel}:${command.channelMessageId}`]) return [];
      if (!command.text && !(command.attachments?.length ?? 0))
        throw new InvalidArgumentError('empty message', [{ field: 'text', description: 'a message needs text or an attachment' }]);
      if ((command.text?.length ?? 0) > MESSAGE_TEXT_MAX)
        throw new InvalidArgumentError('text too long', [{ field: 'text', description: `at most ${MESSAGE_TEXT_MAX} characters (UTF-16 code units)` }]);
      const events: Emit = [];
      if (state.status === 'new')
        events.push({
          type: 'conversation.started',
          data: { conversationId: command.conversationId, customerId: command.customerId, channel: command.channel, at: command.at },
        });
      // A bare 1 to 5 right after the survey on its channel is the answer, not a new request: recorded, not reopened.
      const score = state.status === 'resolved' && state.surveyOpen === command.channel ? surveyScore(command.text) : null;
      if (score === null && (state.status === 'resolved' || state.status === 'snoozed'))
        events.push({ type: 'conversation.reopened', data: { reason: 'customer-message', at: command.at } });
      events.push({
        type: 'conversation.message-received',
        data: {
          messageId: command.messageId,
          channel: command.channel,
          channelMessageId: command.channelMessageId,
          ...opt('device', command.device),
          ...opt('sessionId', command.sessionId),
          ...opt('text', command.text),
          attachments: command.attachments ?? [],
          at: command.at,
        },
      });
      if (score !== null) events.push({ type: 'conversation.satisfaction-recorded', data: { score, at: command.at } });
      return events;
    }
    case 'SendMessage': {
      requireStarted(state);
      if (isTaken(state.messages[command.messageId])) return [];
      if (!command.text && !(command.attachments?.length ?? 0) && !command.template) {
        throw new InvalidArgumentError('empty message', [{ field: 'text', description: 'a message needs text, an attachment or a template' }]);
      }
      const channel = replyChannel(state, command.channel);
      if (command.template && channel !== 'whatsapp')
        throw new InvalidArgumentError('templates are a WhatsApp feature', [{ field: 'template', description: `not available on ${channel}` }]);
      if (command.tag && channel !== 'messenger')
        throw new InvalidArgumentError('message tags are a Messenger feature', [{ field: 'tag', description: `not available on ${channel}` }]);
      assertTextFits(channel, command.text);
      assertAttachmentsFit(channel, command.attachments ?? []);
      assertMaySend(
        state,
        {
          channel,
          byHumanAgent: command.author.kind === 'agent',
          template: command.template !== undefined,
          humanAgentTag: command.tag === 'HUMAN_AGENT',
          at: command.at,
        },
        command.reachableChannels,
      );
      return [
        {
          type: 'conversation.message-sent',
          data: {
            messageId: command.messageId,
            channel,
            author: command.author,
            ...opt('text', command.text),
            attachments: command.attachments ?? [],
            ...opt('template', command.template),
            ...opt('tag', command.tag),
            at: command.at,
          },
        },
      ];
    }
    case 'EditMessage':
    case 'DeleteMessage': {
      const message = state.messages[command.messageId];
      if (!isKnown(message)) throw new MessageNotFoundError(command.messageId);
      const mine = (command.by === 'customer') === (message.direction === 'in');
      if (!mine) throw new MessageNotEditableError(command.messageId, 'not-author');
      if (message.deleted) {
        if (command.type === 'DeleteMessage') return [];
        throw new MessageNotEditableError(command.messageId, 'deleted');
      }
      // An agent's edit goes out on the message's channel; a customer's came from it.
      if (command.type === 'EditMessage') assertTextFits(command.by === 'agent' ? message.channel : 'web', command.text);
      return command.type === 'EditMessage'
        ? [{ type: 'conversation.message-edited', data: { messageId: command.messageId, text: command.text, by: command.by, at: command.at } }]
        : [{ type: 'conversation.message-deleted', data: { messageId: command.messageId, by: command.by, at: command.at } }];
    }
    case 'RecordAcceptance': {
      requireStarted(state);
      if (state.messages[command.messageId]?.direction !== 'out') throw new MessageNotFoundError(command.messageId);
      if (state.channelMessageIds[`${command.channel}:${command.channelMessageId}`]) return [];
      return [
        {
          type: 'conversation.message-accepted',
          data: { messageId: command.messageId, channel: command.channel, channelMessageId: command.channelMessageId, at: command.at },
        },
      ];
    }
    case 'RecordPageContext':
      requireStarted(state);
      return [
        {
          type: 'conversation.page-context-recorded',
          data: { url: command.url, attributes: command.attributes, verifiedAttributes: command.verifiedAttributes, at: command.at },
        },
      ];
    case 'AddNote': {
      requireStarted(state);
      if (isTaken(state.messages[command.noteId])) return [];
      const text = command.text.trim();
      if (text.length === 0 || text.length > 10_000)
        throw new InvalidArgumentError('invalid note', [{ field: 'text', description: 'a note of 1 to 10,000 characters' }]);
      return [{ type: 'conversation.note-added', data: { noteId: command.noteId, agentId: command.agentId, text, at: command.at } }];
    }
    case 'RecordReceipt': {
      requireStarted(state);
      const direction = command.reader === 'customer' ? 'out' : 'in';
      const messageId =
        command.messageId ?? (command.channelMessageId === undefined ? undefined : state.channelMessageIds[`${command.channel}:${command.channelMessageId}`]);
      if (command.channelMessageId !== undefined && messageId === undefined) throw new MessageNotFoundError(command.channelMessageId);
      if (messageId !== undefined) {
        const m = state.messages[messageId];
        if (!isKnown(m)) throw new MessageNotFoundError(messageId);
        if (!receiptChanges(m, command.status, command.at)) return [];
      } else if (!markMoves(state, command.channel, direction, command.status, command.upTo ?? command.at)) return [];
      return [
        {
          type: 'conversation.receipt-recorded',
          data: {
            channel: command.channel,
            status: command.status,
            reader: command.reader,
            ...opt('messageId', messageId),
            ...opt('upTo', command.upTo),
            ...opt('error', command.error),
            at: command.at,
          },
        },
      ];
    }
    case 'StartTyping':
    case 'StopTyping': {
      requireStarted(state);
      const typing = command.by === 'customer' ? state.customerTyping : state.agentsTyping.includes(command.agentId ?? '');
      if (typing === (command.type === 'StartTyping')) return [];
      const data = { by: command.by, ...opt('agentId', command.agentId), channel: command.channel, at: command.at };
      return [command.type === 'StartTyping' ? { type: 'conversation.typing-started', data } : { type: 'conversation.typing-stopped', data }];
    }
    case 'StartSession': {
      if (state.activeSessions.includes(command.sessionId)) return [];
      const events: Emit = [];
      if (state.status === 'new')
        events.push({
          type: 'conversation.started',
          data: { conversationId: command.conversationId, customerId: command.customerId, channel: 'web', at: command.at },
        });
      events.push({ type: 'conversation.session-started', data: { sessionId: command.sessionId, ...opt('device', command.device), at: command.at } });
      return events;
    }
    case 'EndSession':
      // A session ending never ends the conversation.
      return state.activeSessions.includes(command.sessionId)
        ? [{ type: 'conversation.session-ended', data: { sessionId: command.sessionId, reason: command.reason, at: command.at } }]
        : [];
    case 'MarkPending':
      requireStarted(state);
      if (state.status === 'pending') return [];
      if (state.status !== 'open') throw new InvalidTransitionError('MarkPending', state.status);
      return [{ type: 'conversation.marked-pending', data: { by: command.by, at: command.at } }];
    case 'Snooze':
      requireStarted(state);
      if (state.status === 'resolved') throw new InvalidTransitionError('Snooze', state.status);
      if (command.until !== undefined && Date.parse(command.until) <= Date.parse(command.at))
        throw new InvalidArgumentError('snooze must end in the future', [{ field: 'until', description: 'after now' }]);
      return [{ type: 'conversation.snoozed', data: { by: command.by, ...opt('until', command.until), at: command.at } }];
    case 'Resolve':
      requireStarted(state);
      if (state.status === 'resolved') return [];
      return [
        ...(state.agentId ? [{ type: 'conversation.unassigned' as const, data: { agentId: state.agentId, reason: 'resolved' as const, at: command.at } }] : []),
        { type: 'conversation.resolved', data: { by: command.by, at: command.at } },
        ...(command.survey ? survey(state, command.survey, command.at) : []),
      ];
    case 'Reopen':
      requireStarted(state);
      if (state.status === 'open' || state.status === 'pending') return [];
      if (command.reason === 'snooze-ended' && state.status !== 'snoozed') return [];
      return [{ type: 'conversation.reopened', data: { reason: command.reason, at: command.at } }];
    case 'Queue':
      requireStarted(state);
      return [{ type: 'conversation.queued', data: { queueId: command.queueId, priority: command.priority, reason: command.reason, at: command.at } }];
    case 'Offer':
      requireStarted(state);
      if (state.agentId !== null) throw new InvalidTransitionError('Offer', 'assigned');
      if (state.offer !== null) throw new InvalidTransitionError('Offer', 'offered');
      return [{ type: 'conversation.offered', data: { offerId: command.offerId, agentId: command.agentId, expiresAt: command.expiresAt, at: command.at } }];
    case 'DeclineOffer':
      if (state.offer?.offerId !== command.offerId) return [];
      return [
        { type: 'conversation.offer-declined', data: { offerId: command.offerId, agentId: state.offer.agentId, reason: command.reason, at: command.at } },
      ];
    case 'Assign':
      requireStarted(state);
      if (state.agentId === command.agentId) return [];
      if (state.agentId !== null) throw new InvalidTransitionError('Assign', 'assigned');
      if (command.offerId !== undefined && state.offer?.offerId !== command.offerId) throw new InvalidTransitionError('Assign', 'offer-withdrawn');
      return [{ type: 'conversation.assigned', data: { agentId: command.agentId, ...opt('offerId', command.offerId), at: command.at } }];
    case 'Transfer': {
      requireStarted(state);
      const data = { ...opt('fromAgentId', state.agentId ?? undefined), to: command.to, mode: command.mode, at: command.at };
      const events: Emit = [{ type: 'conversation.transferred', data }];
      // Cold: the first agent lets go now. Warm: they stay until the second accepts (routing assigns then).
      if (command.mode === 'cold' && state.agentId && command.to.kind === 'queue')
        events.push({ type: 'conversation.unassigned', data: { agentId: state.agentId, reason: 'transferred', at: command.at } });
      return events;
    }
    case 'Unassign':
      if (state.agentId === null) return [];
      return [{ type: 'conversation.unassigned', data: { agentId: state.agentId, reason: command.reason, at: command.at } }];
    case 'SetPriority':
      requireStarted(state);
      return state.priority === command.priority ? [] : [{ type: 'conversation.priority-set', data: { priority: command.priority, at: command.at } }];
    case 'Tag':
      requireStarted(state);
      return state.tags.includes(command.tag) ? [] : [{ type: 'conversation.tagged', data: { tag: command.tag, at: command.at } }];
    case 'Untag':
      return state.tags.includes(command.tag) ? [{ type: 'conversation.untagged', data: { tag: command.tag, at: command.at } }] : [];
    case 'RecordSatisfaction':
      if (state.status !== 'resolved') throw new InvalidTransitionError('RecordSatisfaction', state.status);
      if (!Number.isInteger(command.score) || command.score < 1 || command.score > 5)
        throw new InvalidArgumentError('score from 1 to 5', [{ field: 'score', description: 'an integer from 1 to 5' }]);
      return [{ type: 'conversation.satisfaction-recorded', data: { score: command.score, ...opt('comment', command.comment), at: command.at } }];
    case 'CloseChannel':
      requireStarted(state);
      return state.channels[command.channel]?.closed ? [] : [{ type: 'conversation.channel-closed', data: { channel: command.channel, at: command.at } }];
  }
}

function receiptChanges(m: MessageFacts, status: 'delivered' | 'read' | 'failed', at: string): boolean {
  const earlier = (known: string | undefined) => known === undefined || Date.parse(at) < Date.parse(known);
  if (status === 'failed') return m.failedAt === undefined && m.deliveredAt === undefined;
  if (status === 'read') return earlier(m.readAt);
  return earlier(m.deliveredAt);
}

/**
 * Whether a mark "up to" a time covers a message no earlier mark covered: the
 * marks are watermarks, so a conversation's length does not matter. (A mark may
 * move over messages already marked one by one: one event more, nothing wrong.)
 */
function markMoves(state: ConversationState, channel: string, direction: 'in' | 'out', status: 'delivered' | 'read' | 'failed', upTo: string): boolean {
  const marks = state.marks[`${channel}:${direction}`];
  if (!marks?.firstAt || !marks.lastAt || Date.parse(marks.firstAt) > Date.parse(upTo)) return false;
  const covered = status === 'read' ? marks.readUpTo : marks.deliveredUpTo;
  return covered === null || (Date.parse(covered) < Date.parse(upTo) && Date.parse(covered) < Date.parse(marks.lastAt));
}

/** `4`, ` 5 `, `3/5`: a rating as a customer types it. */
export function surveyScore(text: string | undefined): number | null {
  const m = /^\s*([1-5])\s*(?:\/\s*5)?\s*[.!]?\s*$/.exec(text ?? '');
  return m ? Number(m[1]) : null;
}

/**
 * The survey where the customer last wrote: the widget shows it itself; on WhatsApp
 * a message asks, only within the 24-hour window (no template needed). Elsewhere none.
 */
function survey(state: ConversationState, ask: { messageId: string; text: string }, at: string): Emit {
  const channel = state.lastCustomerChannel;
  if (channel === 'web') return [{ type: 'conversation.survey-offered', data: { channel, at } }];
  if (channel !== 'whatsapp' || state.channels.whatsapp?.closed) return [];
  const last = state.channels.whatsapp?.lastCustomerMessageAt;
  if (!last || Date.parse(at) - Date.parse(last) >= 24 * 3_600_000) return [];
  return [
    { type: 'conversation.survey-offered', data: { channel, messageId: ask.messageId, at } },
    { type: 'conversation.message-sent', data: { messageId: ask.messageId, channel, author: { kind: 'system' }, text: ask.text, attachments: [], at } },
  ];
}
