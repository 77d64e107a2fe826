import type { z } from 'zod';

/**
 * One entry per event type and version: its schema, the paths of its personal
 * fields (encrypted at rest, shown as erased once the customer is erased), and
 * how to read older versions (upcasters, oldest first).
 */
export interface EventContract<T extends string = string, S extends z.ZodType = z.ZodType> {
  readonly type: T;
  readonly version: number;
  readonly schema: S;
  /** Dot paths into `data`; `[]` marks every element of an array. */
  readonly personal: readonly string[];
  readonly upcasters?: Readonly<Record<number, (old: unknown) => unknown>>;
}

export function contract<const T extends string, S extends z.ZodType>(
  type: T,
  version: number,
  schema: S,
  personal: readonly string[] = [],
  upcasters?: EventContract['upcasters'],
): EventContract<T, S> {
  return { type, version, schema, personal, ...(upcasters ? { upcasters } : {}) };
}

/** Brings data written with an older schema version up to the current one, then validates it. */
export function upcast(c: EventContract, fromVersion: number, data: unknown): unknown {
  let current = data;
  for (let v = fromVersion; v < c.version; v++) {
    const step = c.upcasters?.[v];
    if (!step) throw new Error(`${c.type}: no upcaster from version ${v}`);
    current = step(current);
  }
  return c.schema.parse(current);
}
