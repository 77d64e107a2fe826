/**
 * Every error Parley raises on purpose carries a stable, machine-readable code.
 * Codes never change meaning once released; the gRPC and HTTP edges map them to
 * statuses in one place, so libraries never need to know about transports.
 */
export type ErrorCategory =
  | 'invalid_argument'
  | 'failed_precondition'
  | 'conflict'
  | 'not_found'
  | 'unauthenticated'
  | 'permission_denied'
  | 'unavailable'
  /** Over a documented size or rate limit. */
  | 'resource_exhausted';

export abstract class ParleyError extends Error {
  abstract readonly code: string;
  abstract readonly category: ErrorCategory;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }

  /** Serializable details, free of personal data, safe to log and return to callers. */
  details(): Record<string, unknown> {
    return {};
  }
}

export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** Input that can never succeed as sent. Nothing was changed. */
export class InvalidArgumentError extends ParleyError {
  readonly code = 'INVALID_ARGUMENT';
  readonly category = 'invalid_argument' as const;

  constructor(
    message: string,
    readonly violations: readonly FieldViolation[] = [],
  ) {
    super(message);
  }

  override details(): Record<string, unknown> {
    return { violations: this.violations };
  }
}

export function isParleyError(error: unknown): error is ParleyError {
  return error instanceof ParleyError;
}
