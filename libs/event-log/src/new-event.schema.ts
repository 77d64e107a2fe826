import { z } from 'zod';
import type { NewEvent } from './event-envelope';

/*
 * The schema of a new event, and the fast check that stands in for it on the
 * hot path. Not exported from the library: prepareAppend is their one user.
 */

/**
 * The path of the first value that JSON cannot carry as it is (undefined, NaN, a
 * Date, a Map, a class instance), or null when the whole value is plain JSON.
 * One walk over the value: zod's recursive union tries every alternative at every level.
 */
function notJsonAt(value: unknown): (string | number)[] | null {
  // The path is built on the way back up, from the offending value: a walk that
  // finds nothing allocates nothing.
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

/** What an append accepts as a new event (prepareAppend); plainlyValid below is proven against it. */
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
 * errors. It does zod's work without building a copy, which matters on every
 * append; its spec shows with generated events that it never accepts what zod
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
