import type { Attachment, Author, Channel, ConversationEvent, Template } from '@parley/contracts';
import { copyIndex, initialState, startReplay, type ConversationState, type ConversationStatus } from './conversation.state';
import { startTimings, stepTimings, type TimingRules, type TimingsProgress } from './conversation.timings';

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
  /** Response, resolution and queue times so far, by the builder's rules. */
  readonly timings: TimingsProgress;
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
export function conversationView(events: readonly VersionedEvent[], until?: string, rules?: TimingRules): ConversationView {
  const limit = until === undefined ? Number.POSITIVE_INFINITY : Date.parse(until);
  const builder = new TimelineBuilder(undefined, rules);
  for (const e of events) {
    if (Date.parse((e.event.data as { at: string }).at) > limit) break;
    builder.apply(e);
  }
  return builder.view();
}

/**
 * Builds a view event by event, and goes on from a view built before (a read
 * model keeps the view; a reader adds the few events written since). Events at
 * or below the view's version are ignored, so redelivery changes nothing.
 */
export class TimelineBuilder {
  private readonly replay: { apply(event: ConversationEvent): ConversationState };
  private state: ConversationState;
  private version: number;
  private lastActivityAt: string | null;
  private timings: TimingsProgress;
  private readonly timeline: TimelineEntry[];
  private readonly messageIndex = new Map<string, number>();

  constructor(from?: ConversationView, private readonly rules: TimingRules = {}) {
    this.state = from?.state ?? initialState();
    this.replay = startReplay(this.state);
    this.version = from?.version ?? 0;
    this.lastActivityAt = from?.lastActivityAt ?? null;
    this.timings = from?.timings ?? startTimings();
    this.timeline = [...(from?.timeline ?? [])];
    this.timeline.forEach((entry, i) => entry.kind === 'message' && this.messageIndex.set(entry.id, i));
  }

  get currentVersion(): number {
    return this.version;
  }

  apply({ event, version }: VersionedEvent): void {
    if (version <= this.version) return;
    const at = (event.data as { at: string }).at;
    this.state = this.replay.apply(event);
    this.version = version;
    this.timings = stepTimings(this.timings, event, this.rules);
    const timeline = this.timeline;
    switch (event.type) {
      case 'conversation.message-received':
      case 'conversation.message-sent': {
        const d = event.data;
        const inbound = event.type === 'conversation.message-received';
        this.messageIndex.set(d.messageId, timeline.length);
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
        if (inbound) this.lastActivityAt = d.at;
        break;
      }
      case 'conversation.message-edited':
        this.update(event.data.messageId, (m) => ({ ...m, edits: [...m.edits, { text: m.text, at: event.data.at }], text: text(event.data.text), erased: m.erased || isErased(event.data.text) }));
        break;
      case 'conversation.message-deleted':
        this.update(event.data.messageId, (m) => ({ ...m, deleted: true }));
        break;
      case 'conversation.receipt-recorded': {
        // One receipt, or a watermark that marks many: the state knows which.
        const ids = event.data.messageId ? [event.data.messageId] : Object.keys(this.state.messages);
        for (const id of ids) {
          const m = this.state.messages[id];
          if (m) this.update(id, (t) => (t.deliveredAt === m.deliveredAt && t.readAt === m.readAt && t.failed === m.failed ? t : { ...t, deliveredAt: m.deliveredAt, readAt: m.readAt, failed: m.failed }));
        }
        break;
      }
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
        timeline.push({ kind: 'status', status: this.state.status, at });
        break;
      default:
        break;
    }
  }

  /** A view of its own: the builder writes into its indexes in place. */
  view(): ConversationView {
    const s = this.state;
    return { state: { ...s, messages: copyIndex(s.messages), channelMessageIds: copyIndex(s.channelMessageIds) }, timeline: [...this.timeline], version: this.version, lastActivityAt: this.lastActivityAt, timings: this.timings };
  }

  private update(id: string, change: (m: TimelineMessage) => TimelineMessage): void {
    const i = this.messageIndex.get(id);
    if (i !== undefined) this.timeline[i] = change(this.timeline[i] as TimelineMessage);
  }
}
