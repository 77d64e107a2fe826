import type { RecordedEvent } from '@parley/event-log';
import type { Projection, ReadDocument } from '@parley/read-model';

/** One row per conversation, for lists, inboxes, queues and a customer's history. No personal data. */
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
  /** Customer messages since an agent last read the conversation. */
  readonly unreadCount: number;
  /** When it entered the queue it waits in; empty when it waits in none. */
  readonly queuedAt: string;
  /** Offer order within a queue: higher priority first, then first come first served. */
  readonly queueOrder: string;
  /** The customer's satisfaction score (1 to 5) once given, else 0 (absent on rows written before it was kept). */
  readonly satisfaction?: number;
}

export const CONVERSATIONS_TABLE = 'conversations';

const later = (a: string, b: string) => (b > a ? b : a);
const queueOrder = (priority: number, queuedAt: string) => (queuedAt ? `${String(10 - priority).padStart(2, '0')}|${queuedAt}` : '');

function next(row: ConversationRow, event: RecordedEvent): ConversationRow {
  const d = event.data as Record<string, unknown>;
  const at = typeof d['at'] === 'string' ? d['at'] : event.occurredAt;
  switch (event.type) {
    case 'conversation.message-received':
      return {
        ...row,
        status: row.status === 'pending' ? 'open' : row.status,
        lastActivityAt: later(row.lastActivityAt, at),
        unreadCount: row.unreadCount + 1,
      };
    case 'conversation.message-sent':
      // An agent who answers has read what came before.
      return {
        ...row,
        lastActivityAt: later(row.lastActivityAt, at),
        unreadCount: (d['author'] as { kind?: string } | undefined)?.kind === 'agent' ? 0 : row.unreadCount,
      };
    case 'conversation.receipt-recorded':
      return d['reader'] === 'agent' && d['status'] === 'read' ? { ...row, unreadCount: 0 } : row;
    case 'conversation.marked-pending':
      return { ...row, status: 'pending' };
    case 'conversation.snoozed':
      return { ...row, status: 'snoozed' };
    case 'conversation.resolved':
      return { ...row, status: 'resolved', queueId: '', queuedAt: '', queueOrder: '' };
    case 'conversation.reopened':
      return { ...row, status: 'open' };
    case 'conversation.queued': {
      const queuedAt = row.queuedAt || at;
      return { ...row, queueId: String(d['queueId']), priority: Number(d['priority']), queuedAt, queueOrder: queueOrder(Number(d['priority']), queuedAt) };
    }
    case 'conversation.assigned':
      return { ...row, agentId: String(d['agentId']), queueId: '', queuedAt: '', queueOrder: '' };
    case 'conversation.unassigned':
      return row.agentId === d['agentId'] ? { ...row, agentId: '' } : row;
    case 'conversation.satisfaction-recorded':
      return { ...row, satisfaction: Number(d['score']) };
    case 'conversation.priority-set':
      return { ...row, priority: Number(d['priority']), queueOrder: queueOrder(Number(d['priority']), row.queuedAt) };
    default:
      return row;
  }
}

/** Idempotent: a row remembers the stream version it has seen, and older or repeated events change nothing. */
export const conversationListProjection: Projection = {
  name: 'conversation-list',
  tables: [CONVERSATIONS_TABLE],
  types: ['conversation.'],
  async handle(event, store, tables) {
    if (!event.type.startsWith('conversation.')) return;
    const table = tables.table(CONVERSATIONS_TABLE);
    if (event.type === 'conversation.started') {
      if (await store.get(table, event.streamId)) return;
      const d = event.data as { conversationId: string; customerId: string; at: string };
      await store.upsert(table, {
        id: event.streamId,
        tenantId: event.tenantId,
        conversationId: d.conversationId,
        customerId: d.customerId,
        status: 'open',
        agentId: '',
        queueId: '',
        priority: 0,
        lastActivityAt: d.at,
        version: event.streamVersion,
        unreadCount: 0,
        queuedAt: '',
        queueOrder: '',
        satisfaction: 0,
      } satisfies ConversationRow);
      return;
    }
    const row = await store.get<ConversationRow>(table, event.streamId);
    if (!row || row.version >= event.streamVersion) return;
    await store.upsert(table, { ...next(row, event), version: event.streamVersion });
  },
};
