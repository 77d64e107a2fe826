import { traceHeaders } from '@parley/observability';
import { v7 } from 'uuid';
import { z } from 'zod';
import { InvalidArgumentError } from '@parley/errors';
import { pooledRandomBytes } from './crypto/random.pool';
import { newEventSchema, plainlyValid } from './new-event.schema';

/**
 * The envelope every stored event carries. `data` holds the domain payload;
 * everything else is bookkeeping that the log, the bus and the read models share.
 */
export interface EventEnvelope<TData = unknown> {
  /** Sortable UUID v7, unique across the whole log; the idempotency key of an append. */
  readonly id: string;
  readonly type: string;
  readonly schemaVersion: number;
  readonly streamId: string;
  /** 1-based, gap-free within the stream. */
  readonly streamVersion: number;
  readonly tenantId: string;
  /** When it happened, as told by the writer (ISO-8601). */
  readonly occurredAt: string;
  /** When the log stored it (ISO-8601). */
  readonly recordedAt: string;
  readonly correlationId: string;
  readonly causationId: string | null;
  readonly data: TData;
  readonly metadata: Readonly<Record<string, unknown>>;
}

/** An event as read back from the log: the envelope plus its place in the global order. */
export interface RecordedEvent<TData = unknown> extends EventEnvelope<TData> {
  /** Strictly increasing in `readAll` order; a reader stores it as its checkpoint. */
  readonly position: number;
}

/** What a writer hands to `append`; the log assigns versions, positions and recordedAt. */
export interface NewEvent<TData = unknown> {
  readonly id?: string;
  readonly type: string;
  readonly schemaVersion?: number;
  readonly tenantId: string;
  readonly occurredAt?: string;
  readonly correlationId?: string;
  readonly causationId?: string | null;
  readonly data: TData;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** A new event with every optional field settled, so that a retry is byte-for-byte the same append. */
export type PreparedEvent<TData = unknown> = Omit<EventEnvelope<TData>, 'streamId' | 'streamVersion' | 'recordedAt'>;

export const MAX_EVENTS_PER_APPEND = 1000;
export const MAX_STREAM_ID_LENGTH = 256;

const streamIdSchema = z
  .string()
  .min(1)
  .max(MAX_STREAM_ID_LENGTH)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:@|-]*$/, 'letters, digits and . _ : @ | - only');

/**
 * Validates an append request and fills in ids and defaults. Throws
 * InvalidArgumentError listing every violation; nothing is written then.
 */
export function prepareAppend(streamId: string, events: readonly NewEvent[]): PreparedEvent[] {
  const violations: { field: string; description: string }[] = [];
  const stream = streamIdSchema.safeParse(streamId);
  if (!stream.success) violations.push({ field: 'streamId', description: stream.error.issues[0]?.message ?? 'invalid' });
  if (!Array.isArray(events) || events.length === 0) {
    violations.push({ field: 'events', description: 'at least one event is required' });
  } else if (events.length > MAX_EVENTS_PER_APPEND) {
    violations.push({ field: 'events', description: `at most ${MAX_EVENTS_PER_APPEND} events per append` });
  }
  const prepared: PreparedEvent[] = [];
  (Array.isArray(events) ? events : []).forEach((event, index) => {
    let e: z.infer<typeof newEventSchema>;
    if (plainlyValid(event)) e = event;
    else {
      const parsed = newEventSchema.safeParse(event);
      if (!parsed.success) {
        for (const issue of parsed.error.issues) {
          violations.push({ field: `events[${index}].${issue.path.join('.')}`, description: issue.message });
        }
        return;
      }
      e = parsed.data;
    }
    const id = e.id ?? newEventId();
    prepared.push({
      id,
      type: e.type,
      schemaVersion: e.schemaVersion ?? 1,
      tenantId: e.tenantId,
      occurredAt: e.occurredAt ? new Date(e.occurredAt).toISOString() : new Date().toISOString(),
      correlationId: e.correlationId ?? id,
      causationId: e.causationId ?? null,
      data: e.data,
      // The trace the append happens in travels with its events (to Kafka, to consumers).
      metadata: { ...traceHeaders(), ...((e.metadata ?? {}) as Record<string, unknown>) },
    });
  });
  const ids = new Set(prepared.map((e) => e.id));
  if (ids.size !== prepared.length) violations.push({ field: 'events', description: 'event ids must be unique within an append' });
  const tenants = new Set(prepared.map((e) => e.tenantId));
  if (tenants.size > 1) violations.push({ field: 'events', description: 'all events of an append belong to one tenant' });
  if (violations.length > 0) throw new InvalidArgumentError('invalid append', violations);
  return prepared;
}

/** Assigns ids up front, so that a caller who retries after a timeout sends the same events again. */
export function withEventIds<T extends NewEvent>(events: readonly T[]): (T & { id: string })[] {
  return events.map((e) => ({ ...e, id: e.id ?? newEventId() }));
}

/** The id an event gets when its writer gives none. */
export const newEventId = (): string => timeOrderedId();

/**
 * A time-ordered UUID (v7), for events, customers, anything whose ids go into an
 * index in the order they are made: new rows land on its last page.
 */
export function timeOrderedId(): string {
  // The randomness comes from the shared pool, refilled less often than uuid's own. uuid keeps ids of one millisecond
  // in order only when it draws the randomness itself; given ours, the order is
  // kept here, as uuid does it (RFC 9562, 6.2 method 1).
  const random = pooledRandomBytes(16);
  const now = Date.now();
  if (now > order.msecs) {
    order.msecs = now;
    order.seq = ((random[6]! << 23) | (random[7]! << 16) | (random[8]! << 8) | random[9]!) >>> 0;
  } else {
    order.seq = (order.seq + 1) | 0;
    if (order.seq === 0) order.msecs++;
  }
  return v7({ random, msecs: order.msecs, seq: order.seq });
}

const order = { msecs: -Infinity, seq: 0 };
