import type { ConversationEvent } from '@parley/contracts';
import {
  boundaryEntry,
  editedEntry,
  evolveWithoutMessages,
  initialState,
  markKey,
  messageEntry,
  receiptEntry,
  startTimings,
  stepTimings,
  type ConversationState,
  type TimelineEntry,
  type TimelineMessage,
  type TimingRules,
  type TimingsProgress,
} from '@parley/conversation';
import type { EncryptingEventLog, RecordedEvent } from '@parley/event-log';
import type { ReadDocument, ReadModelStore } from '@parley/read-model';

export const TIMELINE_HEADERS_TABLE = 'timeline_headers';
export const TIMELINE_ENTRIES_TABLE = 'timeline_entries';
export const TIMELINE_MESSAGES_TABLE = 'timeline_messages';

/** One per conversation: what it is now. Sealed with the customer's key, as every row with their words. */
export interface TimelineHeaderRow extends ReadDocument {
  readonly tenantId: string;
  readonly customerId: string;
  readonly version: number;
  readonly sealed: string;
}

/**
 * CHUNK_ENTRIES consecutive timeline entries (messages, session boundaries,
 * status changes), named `<stream>#c<n>`: a page reads one or a few chunks and
 * opens each once, and an event rewrites the one chunk it changes.
 */
export interface TimelineChunkRow extends ReadDocument {
  readonly streamId: string;
  readonly index: number;
  readonly sealed: string;
}

export const CHUNK_ENTRIES = 50;

/** Where a message's entry is, for edits and receipts: `<stream>#<message id>` → seq. No personal data. */
export interface TimelineMessageRow extends ReadDocument {
  readonly seq: number;
}

/** A waiting message: its seq and time (ms), for the read marks still to reach it. */
type Waiting = readonly [number, number];

/** The header once opened. */
export interface TimelineHeader {
  /** The conversation's state, without message facts. */
  readonly state: ConversationState;
  readonly version: number;
  /** How many entries the timeline has: the next seq. */
  readonly entries: number;
  readonly lastActivityAt: string | null;
  /** Response, resolution and queue times; each list keeps its latest TIMINGS_KEPT values. */
  readonly timings: TimingsProgress;
  /** By markKey: messages not yet delivered, not yet read, that a read mark can still reach (the latest WAITING_KEPT of each). */
  readonly undelivered: Readonly<Record<string, readonly Waiting[]>>;
  readonly unread: Readonly<Record<string, readonly Waiting[]>>;
}

/** A message still unread after this many newer ones is left unread by marks: what keeps a header bounded when a channel sends no read receipts. */
export const WAITING_KEPT = 500;
export const TIMINGS_KEPT = 100;

export interface TimelineTables {
  readonly headers: string;
  readonly entries: string;
  readonly messages: string;
}

/** What a unit of work wrote, for the bound on work per event (tests and the bench). */
export interface TimelineWorkStats {
  rowsWritten: number;
  bytesSealed: number;
}

export const isTimelineEvent = (type: string) => type.startsWith('conversation.') && !type.startsWith('conversation.typing-');

const subjectOf = (event: RecordedEvent) => (typeof event.metadata['subjectId'] === 'string' ? event.metadata['subjectId'] : '');
const cap = <T>(list: readonly T[], n: number): readonly T[] => (list.length > n ? list.slice(list.length - n) : list);
const capTimings = (t: TimingsProgress): TimingsProgress =>
  t.nextResponseSeconds.length > TIMINGS_KEPT || t.resolutionSeconds.length > TIMINGS_KEPT || t.queueWaitSeconds.length > TIMINGS_KEPT
    ? {
        ...t,
        nextResponseSeconds: cap(t.nextResponseSeconds, TIMINGS_KEPT),
        resolutionSeconds: cap(t.resolutionSeconds, TIMINGS_KEPT),
        queueWaitSeconds: cap(t.queueWaitSeconds, TIMINGS_KEPT),
      }
    : t;

function emptyHeader(): TimelineHeader {
  return { state: initialState(), version: 0, entries: 0, lastActivityAt: null, timings: startTimings(), undelivered: {}, unread: {} };
}

interface HeaderSlot {
  readonly tenantId: string;
  readonly customerId: string;
  /** null: none stored, or none readable (the customer was erased). */
  readonly header: TimelineHeader | null;
  readonly dirty: boolean;
}

interface ChunkSlot {
  readonly streamId: string;
  readonly index: number;
  readonly customerId: string;
  /** null: stored but unreadable. Written in place, only when a step records its changes. */
  readonly entries: TimelineEntry[] | null;
  dirty: boolean;
}

/**
 * The timeline read model, row by row: each event costs the few rows it
 * changes (the header, a new entry, the entry it edits or marks), whatever the
 * conversation's length. Rows are kept opened in memory until `flush` seals and
 * writes them, once each, in a batch per table; reads go through to the store.
 * A projection flushes after every page of events; a reader adds the few events
 * the store is behind and never flushes.
 */
export class TimelineWork {
  private headers = new Map<string, HeaderSlot>();
  private chunks = new Map<string, ChunkSlot>();
  private seqs = new Map<string, { seq: number; dirty: boolean }>();

  constructor(
    private readonly store: ReadModelStore,
    private readonly tables: TimelineTables,
    private readonly log: EncryptingEventLog,
    private readonly rules: TimingRules,
    readonly stats: TimelineWorkStats = { rowsWritten: 0, bytesSealed: 0 },
  ) {}

  /** The conversation's header as this work sees it; null when there is none, or none readable. */
  async header(streamId: string): Promise<TimelineHeader | null> {
    return (await this.headerSlot(streamId)).header;
  }

  /** Entries [start, end) of a conversation, in order; an entry that cannot be read (erased) is left out. */
  async entriesBetween(streamId: string, start: number, end: number): Promise<TimelineEntry[]> {
    const customerId = (await this.headerSlot(streamId)).customerId;
    const wanted = Array.from({ length: Math.max(0, end - start) }, (_, i) => start + i);
    await this.loadChunks(streamId, customerId, wanted);
    return wanted.flatMap((seq) => {
      const entry = this.entryAt(streamId, seq);
      return entry ? [entry] : [];
    });
  }

  /** Applies one event; events at or below the header's version change nothing (redelivery). */
  async apply(event: RecordedEvent): Promise<void> {
    if (!isTimelineEvent(event.type)) return;
    const slot = await this.headerSlot(event.streamId);
    if (slot.header && slot.header.version >= event.streamVersion) return;
    if (!slot.header && event.streamVersion > 1) return this.startOver(event);
    await this.step(event, slot.header ?? emptyHeader(), slot.header ? slot.customerId : subjectOf(event), slot.tenantId || event.tenantId);
  }

  /** Seals and writes what changed, a batch per table, and forgets everything it held. */
  async flush(): Promise<void> {
    const headers = [...this.headers].filter(([, s]) => s.dirty);
    const chunks = [...this.chunks.values()].filter((s) => s.dirty && s.entries);
    const seqs = [...this.seqs].filter(([, s]) => s.dirty);
    this.discard();
    const chunkRows: TimelineChunkRow[] = [];
    for (const s of chunks)
      chunkRows.push({ id: chunkId(s.streamId, s.index), streamId: s.streamId, index: s.index, sealed: await this.seal(s.customerId, s.entries) });
    const headerRows: TimelineHeaderRow[] = [];
    for (const [id, s] of headers)
      headerRows.push({ id, tenantId: s.tenantId, customerId: s.customerId, version: s.header!.version, sealed: await this.seal(s.customerId, s.header) });
    // Entries first, the header last: a header never counts entries that are not stored.
    await this.store.upsertMany(this.tables.entries, chunkRows);
    await this.store.upsertMany(
      this.tables.messages,
      seqs.map(([id, s]): TimelineMessageRow => ({ id, seq: s.seq })),
    );
    await this.store.upsertMany(this.tables.headers, headerRows);
    this.stats.rowsWritten += chunkRows.length + seqs.length + headerRows.length;
  }

  /** Forgets what it holds without writing. */
  discard(): void {
    this.headers = new Map();
    this.chunks = new Map();
    this.seqs = new Map();
  }

  /**
   * No readable header past the first event: the customer was erased (their key
   * with it), or the rows are gone. The stream itself is read once, from the
   * start, and the timeline written again under the customer's current key.
   */
  private async startOver(event: RecordedEvent): Promise<void> {
    this.headers.set(event.streamId, { tenantId: event.tenantId, customerId: subjectOf(event), header: emptyHeader(), dirty: false });
    for (let from = 1; from <= event.streamVersion; from += 1000) {
      const events = await this.log.readStream(event.streamId, { from, limit: Math.min(1000, event.streamVersion - from + 1) });
      for (const e of events) {
        if (!isTimelineEvent(e.type)) continue;
        const slot = this.headers.get(e.streamId)!;
        await this.step(e, slot.header!, slot.customerId || subjectOf(e), slot.tenantId, true);
      }
      if (events.length === 0) break;
    }
  }

  /**
   * Works out the event's rows, reading what it needs first, then records them
   * all at once: an event that fails half-way leaves nothing behind.
   */
  private async step(event: RecordedEvent, before: TimelineHeader, subject: string, tenantId: string, fresh = false): Promise<void> {
    const e = { type: event.type, data: event.data } as ConversationEvent;
    const stream = event.streamId;
    const state = evolveWithoutMessages(before.state, e);
    const customerId = state.customerId ?? subject;
    let { entries, lastActivityAt } = before;
    const undelivered = { ...before.undelivered };
    const unread = { ...before.unread };
    const changed: { seq: number; entry: TimelineEntry }[] = [];
    const located: { messageId: string; seq: number }[] = [];
    const append = (entry: TimelineEntry) => changed.push({ seq: entries++, entry });
    switch (e.type) {
      case 'conversation.message-received':
      case 'conversation.message-sent': {
        const entry = messageEntry(e);
        const key = `${entry.channel}:${entry.inbound ? 'in' : 'out'}`;
        const waiting: Waiting = [entries, Date.parse(entry.at)];
        if (entry.deliveredAt === null) undelivered[key] = cap([...(undelivered[key] ?? []), waiting], WAITING_KEPT);
        unread[key] = cap([...(unread[key] ?? []), waiting], WAITING_KEPT);
        located.push({ messageId: entry.id, seq: entries });
        append(entry);
        if (entry.inbound) lastActivityAt = entry.at;
        break;
      }
      case 'conversation.message-edited':
      case 'conversation.message-deleted': {
        const found = await this.messageEntry(stream, customerId, e.data.messageId, fresh);
        if (found) changed.push({ seq: found.seq, entry: editedEntry(found.entry, e) });
        break;
      }
      case 'conversation.receipt-recorded': {
        const d = e.data;
        if (d.messageId) {
          const found = await this.messageEntry(stream, customerId, d.messageId, fresh);
          if (found) {
            const entry = receiptEntry(found.entry, d.status, d.at);
            changed.push({ seq: found.seq, entry });
            // No mark needs to reach it any more.
            const key = `${entry.channel}:${entry.inbound ? 'in' : 'out'}`;
            if (entry.deliveredAt !== null && undelivered[key]) undelivered[key] = undelivered[key].filter(([seq]) => seq !== found.seq);
            if (entry.readAt !== null && unread[key]) unread[key] = unread[key].filter(([seq]) => seq !== found.seq);
          }
        } else if (d.status !== 'failed') {
          const key = markKey(d.channel, d.reader);
          const upTo = Date.parse(d.upTo ?? d.at);
          const reached = new Set<number>();
          for (const lists of d.status === 'read' ? [unread, undelivered] : [undelivered]) {
            const waiting = lists[key] ?? [];
            for (const [seq, time] of waiting) if (time <= upTo) reached.add(seq);
            lists[key] = waiting.filter(([, time]) => time > upTo);
          }
          const seqs = [...reached];
          await this.loadChunks(stream, customerId, seqs, fresh);
          for (const seq of seqs) {
            const entry = this.entryAt(stream, seq);
            if (entry?.kind === 'message') changed.push({ seq, entry: receiptEntry(entry, d.status, d.at) });
          }
        }
        break;
      }
      default: {
        const boundary = boundaryEntry(e, state.status);
        if (boundary) append(boundary);
        break;
      }
    }
    // The chunks the changes go into, read before anything is recorded.
    await this.loadChunks(
      stream,
      customerId,
      changed.map((c) => c.seq),
      fresh,
    );
    const header: TimelineHeader = {
      state,
      version: event.streamVersion,
      entries,
      lastActivityAt,
      timings: capTimings(stepTimings(before.timings, e, this.rules)),
      undelivered,
      unread,
    };
    this.headers.set(stream, { tenantId, customerId, header, dirty: true });
    for (const c of changed) {
      const index = Math.floor(c.seq / CHUNK_ENTRIES);
      const id = chunkId(stream, index);
      let chunk = this.chunks.get(id);
      if (!chunk) this.chunks.set(id, (chunk = { streamId: stream, index, customerId, entries: [], dirty: false }));
      if (!chunk.entries) continue;
      chunk.entries[c.seq % CHUNK_ENTRIES] = c.entry;
      chunk.dirty = true;
    }
    for (const l of located) this.seqs.set(entryId(stream, l.messageId), { seq: l.seq, dirty: true });
  }

  private async headerSlot(streamId: string): Promise<HeaderSlot> {
    const held = this.headers.get(streamId);
    if (held) return held;
    const row = await this.store.get<TimelineHeaderRow>(this.tables.headers, streamId);
    const slot: HeaderSlot = row
      ? {
          tenantId: row.tenantId,
          customerId: row.customerId,
          header: (await this.log.openFor(row.customerId, row.sealed)) as TimelineHeader | null,
          dirty: false,
        }
      : { tenantId: '', customerId: '', header: null, dirty: false };
    this.headers.set(streamId, slot);
    return slot;
  }

  /** A message's entry, by its id; `fresh`: the timeline is being written from the start, so only what this work holds counts. */
  private async messageEntry(streamId: string, customerId: string, messageId: string, fresh: boolean): Promise<{ seq: number; entry: TimelineMessage } | null> {
    const id = entryId(streamId, messageId);
    let seq = this.seqs.get(id)?.seq;
    if (seq === undefined && !fresh) {
      const row = await this.store.get<TimelineMessageRow>(this.tables.messages, id);
      if (!row) return null;
      seq = row.seq;
      this.seqs.set(id, { seq, dirty: false });
    }
    if (seq === undefined) return null;
    await this.loadChunks(streamId, customerId, [seq], fresh);
    const entry = this.entryAt(streamId, seq);
    return entry?.kind === 'message' ? { seq, entry } : null;
  }

  private entryAt(streamId: string, seq: number): TimelineEntry | undefined {
    return this.chunks.get(chunkId(streamId, Math.floor(seq / CHUNK_ENTRIES)))?.entries?.[seq % CHUNK_ENTRIES];
  }

  /** Reads the chunks holding these entries, unless held; `fresh`: the timeline is being written from the start, nothing stored counts. */
  private async loadChunks(streamId: string, customerId: string, seqs: readonly number[], fresh = false): Promise<void> {
    if (fresh) return;
    const missing = [...new Set(seqs.map((seq) => Math.floor(seq / CHUNK_ENTRIES)))].filter((index) => !this.chunks.has(chunkId(streamId, index)));
    if (missing.length === 0) return;
    const rows = await this.store.getMany<TimelineChunkRow>(
      this.tables.entries,
      missing.map((index) => chunkId(streamId, index)),
    );
    for (const row of rows) {
      const entries = (await this.log.openFor(customerId, row.sealed)) as TimelineEntry[] | null;
      this.chunks.set(row.id, { streamId, index: row.index, customerId, entries, dirty: false });
    }
  }

  private async seal(customerId: string, value: unknown): Promise<string> {
    const sealed = await this.log.sealFor(customerId, value);
    this.stats.bytesSealed += sealed.length;
    return sealed;
  }
}

/** A message's row in the message index. */
export const entryId = (streamId: string, messageId: string) => `${streamId}#${messageId}`;
export const chunkId = (streamId: string, index: number) => `${streamId}#c${index}`;
