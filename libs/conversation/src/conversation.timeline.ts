import type { Attachment, Author, Channel, ConversationEvent, Template } from '@parley/contracts';
import { initialState, startReplay, type ConversationState, type ConversationStatus } from './conversation.state';

export interface TimelineMessage {
  readonly kind: 'message';
  readonly id: string;
  readonly inbound: boolean;
  readonly channel: Channel;
  readonly device: string | null;
  /** The current text; earlier versions are in `edits`, for auditors. */
  readonly text: string | null;
  readonly edits: readonly { readonly text: unknown; readonly at: string }[];
  readonly attachments: readonly Attachment[];
  readonly author: Author | null;
  readonly template: Template | null;
  readonly deleted: boolean;
  readonly erased: boolean;
  readonly deliveredAt: string | null;
  readonly readAt: string | null;
  readonly failed: boolean;
  readonly at: string;
}

export type TimelineEntry =
  | TimelineMessage
  | { readonly kind: 'session'; readonly sessionId: string; readonly started: boolean; readonly reason: string | null; readonly at: string }
  | { readonly kind: 'status'; readonly status: ConversationStatus; readonly at: string };

export interface ConversationView {
  readonly state: ConversationState;
  readonly timeline: readonly TimelineEntry[];
  readonly version: number;
  readonly lastActivityAt: string | null;
}

export interface VersionedEvent {
  readonly event: ConversationEvent;
  readonly version: number;
}

const isErased = (v: unknown) => typeof v === 'object' && v !== null && (v as { erased?: unknown }).erased === true;
const text = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/**
 * The conversation as people see it: every message across sessions, threads,
 * channels and devices in order, with session boundaries, receipts, edits (the
 * originals kept for auditors) and state changes. `until` replays only what had
 * happened by then: the conversation as it stood at that moment.
 */
export function conversationView(events: readonly VersionedEvent[], until?: string): ConversationView {
  const limit = until === undefined ? Number.POSITIVE_INFINITY : Date.parse(until);
  const replay = startReplay(initialState());
  let state = initialState();
  let version = 0;
  let lastActivityAt: string | null = null;
  const timeline: TimelineEntry[] = [];
  const messageIndex = new Map<string, number>();
  const update = (id: string, change: (m: TimelineMessage) => TimelineMessage) => {
    const i = messageIndex.get(id);
    if (i !== undefined) timeline[i] = change(timeline[i] as TimelineMessage);
  };

  for (const { event, version: v } of events) {
    const at = (event.data as { at: string }).at;
    if (Date.parse(at) > limit) break;
    state = replay.apply(event);
    version = v;
    switch (event.type) {
      case 'conversation.message-received':
      case 'conversation.message-sent': {
        const d = event.data;
        const inbound = event.type === 'conversation.message-received';
        messageIndex.set(d.messageId, timeline.length);
        timeline.push({
          kind: 'message',
          id: d.messageId,
          inbound,
          channel: d.channel,
          device: inbound ? ((d as { device?: string }).device ?? null) : null,
          text: text(d.text),
          edits: [],
          attachments: d.attachments,
          author: inbound ? null : (d as { author: Author }).author,
          template: inbound ? null : ((d as { template?: Template }).template ?? null),
          deleted: false,
          erased: isErased(d.text) || d.attachments.some((a) => isErased(a.ref)),
          deliveredAt: inbound ? d.at : null,
          readAt: null,
          failed: false,
          at: d.at,
        });
        if (inbound) lastActivityAt = d.at;
        break;
      }
      case 'conversation.message-edited':
        update(event.data.messageId, (m) => ({ ...m, edits: [...m.edits, { text: m.text, at: event.data.at }], text: text(event.data.text), erased: m.erased || isErased(event.data.text) }));
        break;
      case 'conversation.message-deleted':
        update(event.data.messageId, (m) => ({ ...m, deleted: true }));
        break;
      case 'conversation.receipt-recorded':
        for (const [id, m] of Object.entries(state.messages)) update(id, (t) => ({ ...t, deliveredAt: m.deliveredAt, readAt: m.readAt, failed: m.failed }));
        break;
      case 'conversation.session-started':
        timeline.push({ kind: 'session', sessionId: event.data.sessionId, started: true, reason: null, at });
        break;
      case 'conversation.session-ended':
        timeline.push({ kind: 'session', sessionId: event.data.sessionId, started: false, reason: event.data.reason, at });
        break;
      case 'conversation.started':
      case 'conversation.marked-pending':
      case 'conversation.snoozed':
      case 'conversation.resolved':
      case 'conversation.reopened':
        timeline.push({ kind: 'status', status: state.status, at });
        break;
      default:
        break;
    }
  }
  // The replay writes into its indexes in place: hand out a state of its own.
  return { state: { ...state, messages: { ...state.messages }, channelMessageIds: { ...state.channelMessageIds } }, timeline, version, lastActivityAt };
}
