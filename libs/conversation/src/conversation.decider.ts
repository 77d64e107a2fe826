import type { Decider, DeciderFacts } from '@parley/decider';
import type { Channel, ConversationEvent } from '@parley/contracts';
import type { ConversationCommand } from './conversation.commands';
import { decide } from './conversation.decide';
import {
  channelMessageFactKey,
  evolve,
  evolveAll,
  initialState,
  isTaken,
  messageFactKey,
  takeFacts,
  withFacts,
  type ConversationState,
} from './conversation.state';

/**
 * The message facts a command needs. A message whose origin the state holds
 * needs no look-up: it arrived since the last snapshot, so every later fact of it
 * did too. A channel's message id is looked up first, then the message it names.
 */
function needs(command: ConversationCommand, state: ConversationState): string[] {
  const message = (id: string | undefined) => (id === undefined || isTaken(state.messages[id]) ? [] : [messageFactKey(id)]);
  const channelMessage = (channel: Channel, id: string | undefined) =>
    id === undefined || state.channelMessageIds[`${channel}:${id}`] !== undefined ? [] : [channelMessageFactKey(channel, id)];
  switch (command.type) {
    case 'ReceiveMessage':
      return channelMessage(command.channel, command.channelMessageId);
    case 'SendMessage':
    case 'EditMessage':
    case 'DeleteMessage':
      return message(command.messageId);
    case 'AddNote':
      return message(command.noteId);
    case 'RecordAcceptance':
      return [...message(command.messageId), ...channelMessage(command.channel, command.channelMessageId)];
    case 'RecordReceipt':
      if (command.messageId !== undefined) return message(command.messageId);
      if (command.channelMessageId === undefined) return [];
      return [
        ...channelMessage(command.channel, command.channelMessageId),
        ...message(state.channelMessageIds[`${command.channel}:${command.channelMessageId}`]),
      ];
    default:
      return [];
  }
}

export const conversationFacts: DeciderFacts<ConversationCommand, ConversationState> = { needs, with: withFacts, take: takeFacts };

export const conversationDecider: Decider<ConversationCommand, ConversationEvent, ConversationState> = {
  decide,
  evolve,
  evolveAll,
  initialState,
  facts: conversationFacts,
};
