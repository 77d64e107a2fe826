import type { FieldViolation } from './parley.error';

/** A schema validator's complaint (zod's issues have this shape): where, and what is wrong. */
export interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** Issues as the field violations an INVALID_ARGUMENT carries, their paths under `prefix` (e.g. `profile`). */
export function fieldViolations(issues: readonly Issue[], prefix?: string): FieldViolation[] {
  return issues.map((i) => ({ field: [...(prefix ? [prefix] : []), ...i.path.map(String)].join('.'), description: i.message }));
}

/** Issues on one line, for an HTTP error or a dead letter's reason: `path: message; …`. */
export function describeIssues(issues: readonly Issue[], limit = 500): string {
  return issues
    .map((i) => `${i.path.map(String).join('.')}: ${i.message}`)
    .join('; ')
    .slice(0, limit);
}
