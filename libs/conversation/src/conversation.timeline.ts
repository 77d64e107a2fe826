import type { Attachment, Author, Channel, ConversationEvent, Template } from '@parley/contracts';
import { initialState, startReplay, type ConversationState, type ConversationStatus } from './conversation.state';
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
  | { readonly kind: 'status'; readonly status: ConversationStatus; readonly at: string }
  /** An agent's private note: in the timeline agents read, never sent to the customer. */
  | { readonly kind: 'note'; readonly noteId: string; readonly agentId: string; readonly text: string | null; readonly erased: boolean; readonly at: string }
  /** The page the widget's visitor is on, and what it says of them (erased: the url and attributes are gone with the customer). */
  | {
      readonly kind: 'page';
      readonly url: string | null;
      readonly attributes: Readonly<Record<string, unknown>>;
      readonly verifiedAttributes: Readonly<Record<string, unknown>>;
      readonly erased: boolean;
      readonly at: string;
    };

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

/** The entry a received or sent message starts as. */
export function messageEntry(event: Extract<ConversationEvent, { type: 'conversation.message-received' | 'conversation.message-sent' }>): TimelineMessage {
  const d = event.data;
  const inbound = event.type === 'conversation.message-received';
  return {
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
  };
}

/** An entry after an edit (the earlier text kept for auditors) or a deletion. */
export function editedEntry(
  m: TimelineMessage,
  event: Extract<ConversationEvent, { type: 'conversation.message-edited' | 'conversation.message-deleted' }>,
): TimelineMessage {
  if (event.type === 'conversation.message-deleted') return { ...m, deleted: true };
  return { ...m, edits: [...m.edits, { text: m.text, at: event.data.at }], text: text(event.data.text), erased: m.erased || isErased(event.data.text) };
}

const earliest = (a: string | null, b: string): string => (a === null || Date.parse(b) < Date.parse(a) ? b : a);

/** An entry after a receipt: times only move earlier; read implies delivered; a failure counts only before any delivery. */
export function receiptEntry(m: TimelineMessage, status: 'delivered' | 'read' | 'failed', at: string): TimelineMessage {
  if (status === 'failed') return m.failed || m.deliveredAt !== null ? m : { ...m, failed: true };
  const deliveredAt = earliest(m.deliveredAt, at);
  const readAt = status === 'read' ? earliest(m.readAt, at) : m.readAt;
  return deliveredAt === m.deliveredAt && readAt === m.readAt && !m.failed ? m : { ...m, deliveredAt, readAt, failed: false };
}

/** The entry a session's start or end, a note, or a change of status adds (the status the event led to), or null for any other event. */
export function boundaryEntry(event: ConversationEvent, status: ConversationStatus): TimelineEntry | null {
  const at = (event.data as { at: string }).at;
  switch (event.type) {
    case 'conversation.session-started':
      return { kind: 'session', sessionId: event.data.sessionId, started: true, reason: null, at };
    case 'conversation.session-ended':
      return { kind: 'session', sessionId: event.data.sessionId, started: false, reason: event.data.reason, at };
    case 'conversation.page-context-recorded': {
      const erased = isErased(event.data.url);
      const plain = (v: unknown) => (erased || isErased(v) || typeof v !== 'object' || v === null ? {} : (v as Record<string, unknown>));
      return {
        kind: 'page',
        url: text(event.data.url),
        attributes: plain(event.data.attributes),
        verifiedAttributes: plain(event.data.verifiedAttributes),
        erased,
        at,
      };
    }
    case 'conversation.note-added':
      return { kind: 'note', noteId: event.data.noteId, agentId: event.data.agentId, text: text(event.data.text), erased: isErased(event.data.text), at };
    case 'conversation.started':
    case 'conversation.marked-pending':
    case 'conversation.snoozed':
    case 'conversation.resolved':
    case 'conversation.reopened':
      return { kind: 'status', status, at };
    default:
      return null;
  }
}

/** Where a receipt's marks apply: `<channel>:<in|out>`, the messages the reader reads. */
export const markKey = (channel: Channel, reader: 'customer' | 'agent') => `${channel}:${reader === 'customer' ? 'out' : 'in'}`;

/**
 * Builds a view event by event, and goes on from a view built before. Events at
 * or below the view's version are ignored, so redelivery changes nothing. Read
 * marks ("read up to") reach the messages still unread on their channel, kept
 * in lists per channel and direction, so a mark costs what it marks.
 */
export class TimelineBuilder {
  private readonly replay: { apply(event: ConversationEvent): ConversationState };
  private state: ConversationState;
  private version: number;
  private lastActivityAt: string | null;
  private timings: TimingsProgress;
  private readonly timeline: TimelineEntry[];
  private readonly messageIndex = new Map<string, number>();
  /** By markKey: entries not yet delivered, not yet read. */
  private readonly undelivered = new Map<string, number[]>();
  private readonly unread = new Map<string, number[]>();

  constructor(
    from?: ConversationView,
    private readonly rules: TimingRules = {},
  ) {
    this.state = from?.state ?? initialState();
    this.replay = startReplay(this.state, { withoutMessages: true });
    this.version = from?.version ?? 0;
    this.lastActivityAt = from?.lastActivityAt ?? null;
    this.timings = from?.timings ?? startTimings();
    this.timeline = [...(from?.timeline ?? [])];
    this.timeline.forEach((entry, i) => entry.kind === 'message' && this.track(entry, i));
  }

  get currentVersion(): number {
    return this.version;
  }

  apply({ event, version }: VersionedEvent): void {
    if (version <= this.version) return;
    this.state = this.replay.apply(event);
    this.version = version;
    this.timings = stepTimings(this.timings, event, this.rules);
    const timeline = this.timeline;
    switch (event.type) {
      case 'conversation.message-received':
      case 'conversation.message-sent': {
        const entry = messageEntry(event);
        this.track(entry, timeline.length);
        timeline.push(entry);
        if (entry.inbound) this.lastActivityAt = entry.at;
        break;
      }
      case 'conversation.message-edited':
      case 'conversation.message-deleted':
        this.update(event.data.messageId, (m) => editedEntry(m, event));
        break;
      case 'conversation.receipt-recorded': {
        const d = event.data;
        if (d.messageId) this.update(d.messageId, (m) => receiptEntry(m, d.status, d.at));
        else if (d.status !== 'failed') {
          const key = markKey(d.channel, d.reader);
          const upTo = Date.parse(d.upTo ?? d.at);
          for (const list of d.status === 'read' ? [this.unread, this.undelivered] : [this.undelivered]) {
            const waiting = list.get(key) ?? [];
            const left = waiting.filter((i) => {
              const m = timeline[i] as TimelineMessage;
              if (Date.parse(m.at) > upTo) return true;
              timeline[i] = receiptEntry(m, d.status, d.at);
              return false;
            });
            list.set(key, left);
          }
        }
        break;
      }
      default: {
        const boundary = boundaryEntry(event, this.state.status);
        if (boundary) timeline.push(boundary);
        break;
      }
    }
  }

  /** A view of its own: the builder goes on writing into its timeline. */
  view(): ConversationView {
    return {
      state: { ...this.state, messages: {}, channelMessageIds: {} },
      timeline: [...this.timeline],
      version: this.version,
      lastActivityAt: this.lastActivityAt,
      timings: this.timings,
    };
  }

  private track(entry: TimelineMessage, i: number): void {
    this.messageIndex.set(entry.id, i);
    const key = `${entry.channel}:${entry.inbound ? 'in' : 'out'}`;
    const waiting = (list: Map<string, number[]>) => list.get(key) ?? list.set(key, []).get(key)!;
    if (entry.deliveredAt === null) waiting(this.undelivered).push(i);
    if (entry.readAt === null) waiting(this.unread).push(i);
  }

  private update(id: string, change: (m: TimelineMessage) => TimelineMessage): void {
    const i = this.messageIndex.get(id);
    if (i !== undefined) this.timeline[i] = change(this.timeline[i] as TimelineMessage);
  }
}
