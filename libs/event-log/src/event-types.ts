import { z } from 'zod';
import { InvalidArgumentError } from '@parley/errors';

/**
 * Event types as a reader names what it follows: exact names, or a family by its
 * prefix ending in a dot ('conversation.' is every conversation.* type).
 */
export type EventTypes = readonly string[];

/** Whether an event of `type` is one of `types` (every type when `types` is absent). */
export function typeMatcher(types: EventTypes | undefined): (type: string) => boolean {
  if (!types) return () => true;
  const exact = new Set(types.filter((t) => !t.endsWith('.')));
  const families = types.filter((t) => t.endsWith('.'));
  return (type) => exact.has(type) || families.some((f) => type.startsWith(f));
}

/** Whether everything `inner` names is also named by `outer` (absent: every type). */
export function typesCover(outer: EventTypes | undefined, inner: EventTypes | undefined): boolean {
  if (!outer) return true;
  if (!inner) return false;
  const matches = typeMatcher(outer);
  return inner.every((t) => (t.endsWith('.') ? outer.some((o) => o.endsWith('.') && t.startsWith(o)) : matches(t)));
}

/** The smallest list naming everything any of `lists` names (absent when one of them is: every type). */
export function unionOfTypes(lists: readonly (EventTypes | undefined)[]): EventTypes | undefined {
  if (lists.some((l) => l === undefined)) return undefined;
  const all = [...new Set(lists.flatMap((l) => l!))].sort();
  // A type or family inside a family named too adds nothing.
  return all.filter((t) => !all.some((f) => f !== t && f.endsWith('.') && t.startsWith(f)));
}

const typesSchema = z
  .array(z.string().regex(/^[a-z][a-z0-9]*(\.[a-z][a-z0-9-]*)*\.?$/, "an event type, or a family of them ending in a dot ('conversation.')"))
  .min(1, 'name at least one type, or leave types out for all of them')
  .max(100);

/** Throws InvalidArgumentError when `types` is given and is not a list of event types or families. */
export function checkTypes(types: EventTypes | undefined): void {
  if (types === undefined) return;
  const parsed = typesSchema.safeParse(types);
  if (!parsed.success)
    throw new InvalidArgumentError(
      'invalid readAll',
      parsed.error.issues.map((i) => ({ field: `types.${i.path.join('.')}`.replace(/\.$/, ''), description: i.message })),
    );
}
