import { conversationMeasures, type ConversationMeasure, type ConversationState } from '@parley/conversation';
import type { ConversationEvent } from '@parley/contracts';
import { counter, defaultRegistry, histogram, type Registry } from '@parley/observability';

const MINUTE = 60;
const HOUR = 3600;

/**
 * Conversations opened, reopened and resolved, first response and resolution
 * times. Fed by the writers of conversation streams after each append (the
 * DeciderStore's `onAppended`), so a sum over all instances counts each event
 * once, and rebuilding a read model counts nothing again.
 */
export class ConversationMetrics {
  private readonly opened;
  private readonly reopened;
  private readonly resolved;
  private readonly firstResponse;
  private readonly resolution;

  constructor(registry: Registry = defaultRegistry()) {
    this.opened = counter(registry, {
      name: 'parley_conversations_opened_total',
      help: 'Conversations started, by the channel of their first contact.',
      labelNames: ['channel'] as const,
    });
    this.reopened = counter(registry, {
      name: 'parley_conversations_reopened_total',
      help: 'Resolved or snoozed conversations opened again, by reason.',
      labelNames: ['reason'] as const,
    });
    this.resolved = counter(registry, { name: 'parley_conversations_resolved_total', help: 'Conversations resolved.' });
    this.firstResponse = histogram(registry, {
      name: 'parley_conversation_first_response_seconds',
      help: "From the customer's first waiting message to the first answer by an agent (wall clock), by the answer's channel.",
      labelNames: ['channel'] as const,
      buckets: [15, MINUTE, 2 * MINUTE, 5 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 4 * HOUR, 24 * HOUR],
    });
    this.resolution = histogram(registry, {
      name: 'parley_conversation_resolution_seconds',
      help: 'From the start or reopening of a conversation to its resolution (wall clock).',
      buckets: [5 * MINUTE, 15 * MINUTE, HOUR, 4 * HOUR, 24 * HOUR, 3 * 24 * HOUR, 7 * 24 * HOUR],
    });
  }

  record(measures: readonly ConversationMeasure[]): void {
    for (const m of measures) {
      switch (m.kind) {
        case 'opened':
          this.opened.inc({ channel: m.channel });
          break;
        case 'reopened':
          this.reopened.inc({ reason: m.reason });
          break;
        case 'resolved':
          this.resolved.inc();
          if (m.seconds !== null) this.resolution.observe(m.seconds);
          break;
        case 'first-response':
          this.firstResponse.observe({ channel: m.channel }, m.seconds);
          break;
      }
    }
  }

  /** For a conversation DeciderStore's `onAppended`. */
  readonly onAppended = (appended: { readonly previous: ConversationState; readonly events: readonly ConversationEvent[] }): void => {
    this.record(conversationMeasures(appended.previous, appended.events));
  };
}
