import type { Channel, ConversationEvent } from '@parley/contracts';
import { evolve, type ConversationState } from './conversation.state';
import { wallClock } from './conversation.timings';

/**
 * What a writer reports to its metrics after appending events to a conversation.
 * Measured where the events are written, so that each is counted once however
 * many instances run and however often the log is replayed.
 */
export type ConversationMeasure =
  | { readonly kind: 'opened'; readonly channel: Channel }
  | { readonly kind: 'reopened'; readonly reason: 'customer-message' | 'agent' | 'snooze-ended' }
  /** `seconds` from the start or the reopening; null when the conversation was never opened. */
  | { readonly kind: 'resolved'; readonly seconds: number | null }
  /** From the customer's first waiting message to the first answer by a person (wall clock). */
  | { readonly kind: 'first-response'; readonly channel: Channel; readonly seconds: number };

export function conversationMeasures(previous: ConversationState, events: readonly ConversationEvent[]): ConversationMeasure[] {
  const measures: ConversationMeasure[] = [];
  let state = previous;
  for (const event of events) {
    switch (event.type) {
      case 'conversation.started':
        measures.push({ kind: 'opened', channel: event.data.channel });
        break;
      case 'conversation.reopened':
        measures.push({ kind: 'reopened', reason: event.data.reason });
        break;
      case 'conversation.resolved':
        measures.push({ kind: 'resolved', seconds: state.clock.openedAt === null ? null : Math.max(0, wallClock(state.clock.openedAt, event.data.at)) });
        break;
      case 'conversation.message-sent':
        if (event.data.author.kind === 'agent' && !state.clock.answeredOnce && state.clock.waitingSince !== null) {
          measures.push({ kind: 'first-response', channel: event.data.channel, seconds: Math.max(0, wallClock(state.clock.waitingSince, event.data.at)) });
        }
        break;
      default:
        break;
    }
    state = evolve(state, event);
  }
  return measures;
}
