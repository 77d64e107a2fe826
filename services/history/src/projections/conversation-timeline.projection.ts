import type { ConversationEvent } from '@parley/contracts';
import type { TimingRules } from '@parley/conversation';
import type { EncryptingEventLog, RecordedEvent } from '@parley/event-log';
import type { Projection, ProjectionTables, ReadModelStore } from '@parley/read-model';
import {
  TIMELINE_ENTRIES_TABLE,
  TIMELINE_HEADERS_TABLE,
  TIMELINE_MESSAGES_TABLE,
  TimelineWork,
  type TimelineTables,
  type TimelineWorkStats,
} from './timeline/timeline.rows';

export const toVersioned = (e: RecordedEvent) => ({ event: { type: e.type, data: e.data } as ConversationEvent, version: e.streamVersion });

export function timelineTables(tables: ProjectionTables): TimelineTables {
  return { headers: tables.table(TIMELINE_HEADERS_TABLE), entries: tables.table(TIMELINE_ENTRIES_TABLE), messages: tables.table(TIMELINE_MESSAGES_TABLE) };
}

export interface ConversationTimelineProjection extends Projection {
  /** Rows written and bytes sealed so far, over every page: the work per event, which must not grow with a conversation. */
  readonly stats: TimelineWorkStats;
}

/**
 * Serves GetConversation and ListTimeline: a header row per conversation and
 * a row per timeline entry, each sealed with the customer's key (erasing the
 * customer shreds them as it does the log). Writes are buffered over a page of
 * events and sealed once per row at the end of it.
 */
export function conversationTimelineProjection(log: EncryptingEventLog, rules: TimingRules): ConversationTimelineProjection {
  // One unit of work per generation being written (the live one, a rebuild's).
  const works = new Map<string, TimelineWork>();
  const stats: TimelineWorkStats = { rowsWritten: 0, bytesSealed: 0 };
  const workFor = (store: ReadModelStore, tables: ProjectionTables) => {
    const t = timelineTables(tables);
    let work = works.get(t.headers);
    if (!work) works.set(t.headers, (work = new TimelineWork(store, t, log, rules, stats)));
    return work;
  };
  return {
    name: 'conversation-timeline',
    tables: [TIMELINE_HEADERS_TABLE, TIMELINE_ENTRIES_TABLE, TIMELINE_MESSAGES_TABLE],
    types: ['conversation.'],
    stats,
    async handle(event, store, tables) {
      await workFor(store, tables).apply(event);
    },
    async flush() {
      for (const work of works.values()) await work.flush();
    },
    discard() {
      for (const work of works.values()) work.discard();
    },
  };
}
