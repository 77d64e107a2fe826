import { traceHeaders } from '@parley/observability';
import { randomFillSync } from 'node:crypto';
import { v7 } from 'uuid';
import { z } from 'zod';
import { InvalidArgumentError } from '@parley/errors';

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
 * The path of the first value that JSON cannot carry as it is (undefined, NaN, a
 * Date, a Map, a class instance), or null when the whole value is plain JSON.
 * One walk over the value: zod's recursive union tried every alternative at every
 * level and was 8 % of the ingress's time on each append.
 */
function notJsonAt(value: unknown): (string | number)[] | null {
  // The path is built on the way back up, from the offending value: a walk that
  // finds nothing allocates nothing (copying it at every key cost 4 µs an event).
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) ? null : [];
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const at = notJsonAt(value[i]);
          if (at) return (at.unshift(i), at);
        }
        return null;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return [];
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        const at = notJsonAt((value as Record<string, unknown>)[key]);
        if (at) return (at.unshift(key), at);
      }
      return null;
    }
    default:
      return [];
  }
}

/** Adds an issue at the first value that is not JSON, if any. */
function refineJson(value: unknown, ctx: z.RefinementCtx): void {
  const at = notJsonAt(value);
  if (at) ctx.addIssue({ code: 'custom', path: at, message: 'must be JSON: strings, finite numbers, booleans, null, arrays and plain objects' });
}

const jsonValue = z.unknown().superRefine(refineJson);
const jsonObject = z.unknown().superRefine((value, ctx) => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return void ctx.addIssue({ code: 'custom', message: 'must be an object' });
  refineJson(value, ctx);
});

const EVENT_TYPE = /^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)*$/;
const MAX_TYPE_LENGTH = 200;
const MAX_SCHEMA_VERSION = 1000;
const MAX_REF_LENGTH = 128;

/** Exported for its spec only: the fast check below is proven against it. */
export const newEventSchema = z.object({
  id: z.uuid().optional(),
  type: z.string().min(1).max(MAX_TYPE_LENGTH).regex(EVENT_TYPE, 'dot-separated lower-case words, e.g. conversation.message-received'),
  schemaVersion: z.number().int().min(1).max(MAX_SCHEMA_VERSION).optional(),
  tenantId: z.string().min(1).max(MAX_REF_LENGTH),
  occurredAt: z.iso.datetime({ offset: true }).optional(),
  correlationId: z.string().min(1).max(MAX_REF_LENGTH).optional(),
  causationId: z.string().min(1).max(MAX_REF_LENGTH).nullable().optional(),
  data: jsonValue,
  metadata: jsonObject.optional(),
});

const isRef = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= MAX_REF_LENGTH;

/**
 * True only for an event the schema above certainly accepts, as every event a
 * decider writes is: no id or time of its own, a type, a tenant, JSON data and
 * metadata. Anything else, valid or not, is left to zod, which also words the
 * errors. Parsing each event with zod was 7 % of the ingress's event loop in a
 * burst of first contacts; this check does the same work without building a
 * copy. Its spec shows with generated events that it never accepts what zod
 * refuses.
 */
export function plainlyValid(event: NewEvent): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const { id, type, schemaVersion, tenantId, occurredAt, correlationId, causationId, metadata } = event;
  if (id !== undefined || occurredAt !== undefined) return false;
  if (typeof type !== 'string' || type.length < 1 || type.length > MAX_TYPE_LENGTH || !EVENT_TYPE.test(type)) return false;
  if (schemaVersion !== undefined && !(Number.isInteger(schemaVersion) && schemaVersion >= 1 && schemaVersion <= MAX_SCHEMA_VERSION)) return false;
  if (!isRef(tenantId)) return false;
  if (correlationId !== undefined && !isRef(correlationId)) return false;
  if (causationId !== undefined && causationId !== null && !isRef(causationId)) return false;
  if (notJsonAt(event.data) !== null) return false;
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || notJsonAt(metadata) !== null)) return false;
  return true;
}

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
  // uuid keeps ids of one millisecond in order only when it draws the randomness
  // itself; given ours, the order is kept here, as uuid does it (RFC 9562, 6.2 method 1).
  const random = pooledRandom16();
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

// uuid's own pool holds 256 bytes, refilled by an OpenSSL call every 16 ids (12 µs each here).
const randomPool = { bytes: new Uint8Array(8192), used: 8192 };
function pooledRandom16(): Uint8Array {
  if (randomPool.used + 16 > randomPool.bytes.length) {
    randomFillSync(randomPool.bytes);
    randomPool.used = 0;
  }
  return randomPool.bytes.subarray(randomPool.used, (randomPool.used += 16));
}
