import type { PreparedEvent, RecordedEvent } from '../event-envelope';

/**
 * Positions in MongoDB are `commit * COMMIT_STRIDE + offset`: every append owns
 * one commit number, claimed by its first document, and its other events take
 * the offsets after it. The stride bounds an append to MAX_EVENTS_PER_APPEND.
 */
export const COMMIT_STRIDE = 1024;

/** One document per event; the first document of an append also carries the rest of it. */
export interface EventDocument {
  /** `<streamId>#<version>`: the slot in the stream. Lookups by `_id` are the one query every MongoDB-compatible server serves from an index. */
  _id: string;
  /** The event id, unique across the log. */
  eventId: string;
  streamId: string;
  version: number;
  /** The last version of the append this event belongs to: the stream's head once the append is in. */
  end: number;
  position: number;
  /** Index within its append; 0 is the append's first document, the one that claims it. */
  offset: number;
  type: string;
  schemaVersion: number;
  tenantId: string;
  occurredAt: string;
  recordedAt: string;
  correlationId: string;
  causationId: string | null;
  /** JSON text: keeps payloads exact (no BSON number or key rewriting, `$` and `.` in keys allowed). */
  data: string;
  metadata: string;
  /** Present until the outbox relay has published the event. */
  pending?: true;
  /** On the first document of a multi-event append only: the other events, so the append is whole from its first insert. */
  rest?: RestEvent[];
}

export type RestEvent = Omit<EventDocument, '_id' | 'eventId' | 'streamId' | 'version' | 'end' | 'position' | 'offset' | 'recordedAt' | 'pending' | 'rest'> & {
  id: string;
};

export interface SnapshotDocument {
  _id: string;
  streamId: string;
  version: number;
  schemaVersion: number;
  state: string;
  takenAt: string;
}

export const VOID_TYPE = '$void';

export function slotId(streamId: string, version: number): string {
  return `${streamId}#${version}`;
}

export function commitOf(position: number): number {
  return Math.floor(position / COMMIT_STRIDE);
}

export function toDocuments(streamId: string, events: readonly PreparedEvent[], head: number, commit: number, recordedAt: string): EventDocument[] {
  const end = head + events.length;
  const docs = events.map((e, offset): EventDocument => ({
    _id: slotId(streamId, head + offset + 1),
    eventId: e.id,
    streamId,
    version: head + offset + 1,
    end,
    position: commit * COMMIT_STRIDE + offset,
    offset,
    type: e.type,
    schemaVersion: e.schemaVersion,
    tenantId: e.tenantId,
    occurredAt: e.occurredAt,
    recordedAt,
    correlationId: e.correlationId,
    causationId: e.causationId,
    data: JSON.stringify(e.data),
    metadata: JSON.stringify(e.metadata),
    pending: true,
  }));
  if (docs.length > 1) docs[0]!.rest = docs.slice(1).map(toRest);
  return docs;
}

function toRest(doc: EventDocument): RestEvent {
  return {
    id: doc.eventId,
    type: doc.type,
    schemaVersion: doc.schemaVersion,
    tenantId: doc.tenantId,
    occurredAt: doc.occurredAt,
    correlationId: doc.correlationId,
    causationId: doc.causationId,
    data: doc.data,
    metadata: doc.metadata,
  };
}

/** The documents of a whole append, rebuilt from its first document alone. */
export function expandClaim(claim: EventDocument): EventDocument[] {
  const rest = (claim.rest ?? []).map((r, i): EventDocument => ({
    _id: slotId(claim.streamId, claim.version + i + 1),
    eventId: r.id,
    streamId: claim.streamId,
    version: claim.version + i + 1,
    end: claim.end,
    position: claim.position + i + 1,
    offset: i + 1,
    type: r.type,
    schemaVersion: r.schemaVersion,
    tenantId: r.tenantId,
    occurredAt: r.occurredAt,
    recordedAt: claim.recordedAt,
    correlationId: r.correlationId,
    causationId: r.causationId,
    data: r.data,
    metadata: r.metadata,
    pending: true,
  }));
  const { rest: _omit, ...first } = claim;
  return [first, ...rest];
}

export function fromDocument(doc: EventDocument): RecordedEvent {
  return {
    id: doc.eventId,
    type: doc.type,
    schemaVersion: doc.schemaVersion,
    streamId: doc.streamId,
    streamVersion: doc.version,
    tenantId: doc.tenantId,
    occurredAt: doc.occurredAt,
    recordedAt: doc.recordedAt,
    correlationId: doc.correlationId,
    causationId: doc.causationId,
    data: JSON.parse(doc.data),
    metadata: JSON.parse(doc.metadata),
    position: doc.position,
  };
}

export function voidDocument(commit: number): EventDocument {
  const position = commit * COMMIT_STRIDE;
  return {
    _id: `${VOID_TYPE}:${position}`,
    eventId: `${VOID_TYPE}:${position}`,
    streamId: `${VOID_TYPE}:${position}`,
    version: 0,
    end: 0,
    position,
    offset: 0,
    type: VOID_TYPE,
    schemaVersion: 1,
    tenantId: VOID_TYPE,
    occurredAt: new Date(0).toISOString(),
    recordedAt: new Date().toISOString(),
    correlationId: VOID_TYPE,
    causationId: null,
    data: 'null',
    metadata: '{}',
  };
}
