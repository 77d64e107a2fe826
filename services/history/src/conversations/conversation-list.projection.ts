import type { RecordedEvent } from '@parley/event-log';
import type { Projection, ReadDocument } from '@parley/read-model';

/** One row per conversation, for lists, inboxes and queues. No personal data. */
export interface ConversationRow extends ReadDocument {
  readonly tenantId: string;
  readonly conversationId: string;
  readonly customerId: string;
  readonly status: 'open' | 'pending' | 'snoozed' | 'resolved';
  readonly agentId: string;
  readonly queueId: string;
  readonly priority: number;
  readonly lastActivityAt: string;
  readonly version: number;
}

export const CONVERSATIONS_TABLE = 'conversations';

function next(row: ConversationRow, event: RecordedEvent): ConversationRow {
  const d = event.data as Record<string, unknown>;
  const at = typeof d['at'] === 'string' ? d['at'] : event.occurredAt;
  switch (event.type) {
    case 'conversation.message-received':
      return { ...row, status: row.status === 'pending' ? 'open' : row.status, lastActivityAt: at > row.lastActivityAt ? at : row.lastActivityAt };
    case 'conversation.message-sent':
      return { ...row, lastActivityAt: at > row.lastActivityAt ? at : row.lastActivityAt };
    case 'conversation.marked-pending':
      return { ...row, status: 'pending' };
    case 'conversation.snoozed':
      return { ...row, status: 'snoozed' };
    case 'conversation.resolved':
      return { ...row, status: 'resolved' };
    case 'conversation.reopened':
      return { ...row, status: 'open' };
    case 'conversation.queued':
      return { ...row, queueId: String(d['queueId']), priority: Number(d['priority']) };
    case 'conversation.assigned':
      return { ...row, agentId: String(d['agentId']), queueId: '' };
    case 'conversation.unassigned':
      return row.agentId === d['agentId'] ? { ...row, agentId: '' } : row;
    case 'conversation.priority-set':
      return { ...row, priority: Number(d['priority']) };
    default:
      return row;
  }
}

/** Idempotent: a row remembers the stream version it has seen, and older or repeated events change nothing. */
export const conversationListProjection: Projection = {
  name: 'conversation-list',
  tables: [CONVERSATIONS_TABLE],
  async handle(event, store, tables) {
    if (!event.type.startsWith('conversation.')) return;
    const table = tables.table(CONVERSATIONS_TABLE);
    if (event.type === 'conversation.started') {
      if (await store.get(table, event.streamId)) return;
      const d = event.data as { conversationId: string; customerId: string; at: string };
      await store.upsert(table, { id: event.streamId, tenantId: event.tenantId, conversationId: d.conversationId, customerId: d.customerId, status: 'open', agentId: '', queueId: '', priority: 0, lastActivityAt: d.at, version: event.streamVersion } satisfies ConversationRow);
      return;
    }
    const row = await store.get<ConversationRow>(table, event.streamId);
    if (!row || row.version >= event.streamVersion) return;
    await store.upsert(table, { ...next(row, event), version: event.streamVersion });
  },
};
