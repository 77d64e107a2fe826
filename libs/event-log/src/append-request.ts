import type { PreparedEvent, RecordedEvent } from './event-envelope';
import { EventIdConflictError } from './event-log.errors';
import type { ExpectedVersion } from './event-log.port';

export interface AppendRequest {
  readonly streamId: string;
  readonly events: readonly PreparedEvent[];
  readonly expected: ExpectedVersion;
}

export interface StoredIdentity {
  readonly id: string;
  readonly streamId: string;
  readonly streamVersion: number;
}

/**
 * Decides what an append that hit a conflict really is, from where its event ids
 * are already stored:
 * - none of them: a real concurrency conflict ('conflict');
 * - all of them, as this very append (same stream, same order, consecutive
 *   versions, at the expected place): an idempotent retry ('retry');
 * - anything else: the ids were reused, which is a caller bug (EventIdConflictError).
 */
export function classifyConflict(request: AppendRequest, stored: readonly StoredIdentity[]): 'conflict' | 'retry' | EventIdConflictError {
  if (stored.length === 0) return 'conflict';
  const byId = new Map(stored.map((s) => [s.id, s]));
  const first = byId.get(request.events[0]!.id);
  const same =
    stored.length === request.events.length &&
    first !== undefined &&
    request.events.every((e, i) => {
      const s = byId.get(e.id);
      return s !== undefined && s.streamId === request.streamId && s.streamVersion === first.streamVersion + i;
    }) &&
    (typeof request.expected !== 'number' || first.streamVersion === request.expected + 1) &&
    (request.expected !== 'no_stream' || first.streamVersion === 1);
  return same
    ? 'retry'
    : new EventIdConflictError(
        request.streamId,
        stored.map((s) => s.id),
      );
}

export function toRecorded(streamId: string, event: PreparedEvent, streamVersion: number, position: number, recordedAt: string): RecordedEvent {
  // Written out rather than spread: one object shape for every event, built without a copy loop.
  return {
    id: event.id,
    type: event.type,
    schemaVersion: event.schemaVersion,
    streamId,
    streamVersion,
    position,
    tenantId: event.tenantId,
    occurredAt: event.occurredAt,
    recordedAt,
    correlationId: event.correlationId,
    causationId: event.causationId,
    data: event.data,
    metadata: event.metadata,
  };
}
