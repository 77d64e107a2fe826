import { ParleyError } from '@parley/errors';
import type { ExpectedVersion } from './event-log.port';

/**
 * The stream was not at the version the writer expected: someone else wrote first.
 * The writer should reload the stream, decide again, and retry.
 */
export class WrongExpectedVersionError extends ParleyError {
  readonly code = 'WRONG_EXPECTED_VERSION';
  readonly category = 'conflict' as const;

  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    /** 0 when the stream does not exist. */
    readonly actual: number,
  ) {
    super(`stream ${streamId}: expected version ${String(expected)}, actual ${actual}`);
  }

  override details(): Record<string, unknown> {
    return { streamId: this.streamId, expected: this.expected, actual: this.actual };
  }
}

/**
 * Some of the event ids are already stored, but not as this same append to this
 * same stream. A retry must send exactly the events it sent the first time.
 */
export class EventIdConflictError extends ParleyError {
  readonly code = 'EVENT_ID_CONFLICT';
  readonly category = 'conflict' as const;

  constructor(
    readonly streamId: string,
    readonly eventIds: readonly string[],
  ) {
    super(`stream ${streamId}: event ids already stored elsewhere: ${eventIds.join(', ')}`);
  }

  override details(): Record<string, unknown> {
    return { streamId: this.streamId, eventIds: this.eventIds };
  }
}

/** The store could not be reached or refused to work; nothing can be said about the append. */
export class EventLogUnavailableError extends ParleyError {
  readonly code = 'EVENT_LOG_UNAVAILABLE';
  readonly category = 'unavailable' as const;
}

/** The log was closed; no more appends are taken. */
export class EventLogClosedError extends ParleyError {
  readonly code = 'EVENT_LOG_CLOSED';
  readonly category = 'unavailable' as const;

  constructor() {
    super('the event log is closed');
  }
}
