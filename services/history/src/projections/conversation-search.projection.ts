import { createHmac } from 'node:crypto';
import type { Projection, ReadDocument } from '@parley/read-model';

/**
 * A blind index: one row per (word, conversation), the word kept only as a keyed
 * hash. Message text stays sealed per customer in the log; the index can answer
 * "which conversations contain these words" and nothing else, and an erased
 * customer's rows are deleted.
 */
export interface SearchTermRow extends ReadDocument {
  readonly tenantId: string;
  readonly term: string;
  readonly conversationId: string;
  readonly customerId: string;
  readonly at: string;
}

export const SEARCH_TABLE = 'search_terms';
const MAX_WORDS_PER_MESSAGE = 200;

/** Whole words, case- and accent-insensitive, 2 to 40 letters or digits. */
export function words(text: string): string[] {
  const normalized = text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
  const found = new Set<string>();
  for (const match of normalized.matchAll(/[\p{L}\p{N}]{2,40}/gu)) {
    found.add(match[0]);
    if (found.size >= MAX_WORDS_PER_MESSAGE) break;
  }
  return [...found];
}

export function termOf(key: Buffer, tenantId: string, word: string): string {
  return createHmac('sha256', key).update(`${tenantId}\u0000${word}`).digest('base64url').slice(0, 22);
}

export function conversationSearchProjection(key: Buffer): Projection {
  return {
    name: 'conversation-search',
    tables: [SEARCH_TABLE],
    types: ['conversation.message-received', 'conversation.message-sent', 'conversation.message-edited', 'customer.erased'],
    async handle(event, store, tables) {
      const table = tables.table(SEARCH_TABLE);
      const subject = event.metadata['subjectId'];
      if (event.type === 'customer.erased' && typeof subject === 'string') {
        for (;;) {
          const page = await store.find<SearchTermRow>(table, {
            where: { tenantId: event.tenantId, customerId: subject },
            orderBy: { field: 'at', direction: 'asc' },
            limit: 500,
          });
          for (const row of page.documents) await store.delete(table, row.id);
          if (!page.nextPageToken) return;
        }
      }
      if (event.type !== 'conversation.message-received' && event.type !== 'conversation.message-sent' && event.type !== 'conversation.message-edited') return;
      const d = event.data as { text?: unknown; at: string };
      // An erased text reads as a marker, not a string: nothing to index.
      if (typeof d.text !== 'string' || typeof subject !== 'string') return;
      const conversationId = event.streamId.slice(`conversation-${event.tenantId}-`.length);
      for (const word of words(d.text)) {
        const term = termOf(key, event.tenantId, word);
        // Upserting the same row again is harmless: redelivery changes nothing.
        await store.upsert(table, {
          id: `${term}.${event.streamId}`,
          tenantId: event.tenantId,
          term,
          conversationId,
          customerId: subject,
          at: d.at,
        } satisfies SearchTermRow);
      }
    },
  };
}
