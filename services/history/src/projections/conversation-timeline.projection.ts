import type { ConversationEvent } from '@parley/contracts';
import { TimelineBuilder, type ConversationView, type TimingRules } from '@parley/conversation';
import type { EncryptingEventLog, RecordedEvent } from '@parley/event-log';
import type { Projection, ReadDocument } from '@parley/read-model';

/**
 * A conversation's whole view (timeline, state, service levels) as of `version`.
 * The view holds message text, so it is sealed with the customer's key: erasing
 * the customer shreds this copy as it does the log.
 */
export interface TimelineRow extends ReadDocument {
  readonly tenantId: string;
  readonly customerId: string;
  readonly version: number;
  readonly sealed: string;
}

export const TIMELINES_TABLE = 'timelines';

export const toVersioned = (e: RecordedEvent) => ({ event: { type: e.type, data: e.data } as ConversationEvent, version: e.streamVersion });

/** Serves GetConversation without replaying the stream: the stored view plus the few events written since. */
export function conversationTimelineProjection(log: EncryptingEventLog, rules: TimingRules): Projection {
  return {
    name: 'conversation-timeline',
    tables: [TIMELINES_TABLE],
    async handle(event, store, tables) {
      if (!event.type.startsWith('conversation.') || event.type.startsWith('conversation.typing-')) return;
      const table = tables.table(TIMELINES_TABLE);
      const row = await store.get<TimelineRow>(table, event.streamId);
      if (row && row.version >= event.streamVersion) return;
      const subject = typeof event.metadata['subjectId'] === 'string' ? event.metadata['subjectId'] : (row?.customerId ?? '');
      const stored = row ? ((await log.openFor(row.customerId, row.sealed)) as ConversationView | null) : null;
      const builder = new TimelineBuilder(stored ?? undefined, rules);
      // No stored view (first event, or the customer was erased): start from the stream itself.
      if (!stored && event.streamVersion > 1) for (const e of await log.readStream(event.streamId, { limit: event.streamVersion })) builder.apply(toVersioned(e));
      else builder.apply(toVersioned(event));
      const view = builder.view();
      await store.upsert(table, { id: event.streamId, tenantId: event.tenantId, customerId: view.state.customerId ?? subject, version: view.version, sealed: await log.sealFor(view.state.customerId ?? subject, view) } satisfies TimelineRow);
    },
  };
}
