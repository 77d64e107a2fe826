import type { Decider } from '@parley/decider';
import type { ConversationEvent } from '@parley/contracts';
import type { ConversationCommand } from './conversation.commands';
import { decide } from './conversation.decide';
import { evolve, evolveAll, initialState, type ConversationState } from './conversation.state';

export const conversationDecider: Decider<ConversationCommand, ConversationEvent, ConversationState> = { decide, evolve, evolveAll, initialState };
