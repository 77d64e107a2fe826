import { deriveKey, type EncryptingEventLog } from '@parley/event-log';
import type { Projection } from '@parley/read-model';
import type { TimingRules } from '@parley/conversation';
import { conversationListProjection } from './conversation-list.projection';
import { conversationSearchProjection } from './conversation-search.projection';
import { conversationTimelineProjection, type ConversationTimelineProjection } from './conversation-timeline.projection';
import { customerOrdersProjection } from './customer-orders.projection';

export interface HistoryProjections {
  readonly list: Projection;
  readonly timeline: ConversationTimelineProjection;
  readonly search: Projection;
  readonly orders: Projection;
}

/** Every read model of the history service; the service runs them, the rebuild tool rebuilds any of them. */
export function historyProjections(log: EncryptingEventLog, masterKey: Buffer, rules: TimingRules): HistoryProjections {
  return {
    list: conversationListProjection,
    timeline: conversationTimelineProjection(log, rules),
    search: conversationSearchProjection(deriveKey(masterKey, 'search-index')),
    orders: customerOrdersProjection(log),
  };
}
