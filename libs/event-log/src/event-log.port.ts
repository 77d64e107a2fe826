import type { NewEvent, RecordedEvent } from './event-envelope';

/**
 * What the writer believes about the stream before appending:
 * - 'any': no check;
 * - 'no_stream': the stream must not exist yet;
 * - 'stream_exists': the stream must have at least one event;
 * - a number: the stream's current version must be exactly this (0 = no stream).
 */
export type ExpectedVersion = 'any' | 'no_stream' | 'stream_exists' | number;

/** Names one stored event: its id and its place in its stream. */
export type EventRef = Pick<RecordedEvent, 'id' | 'streamId' | 'streamVersion'>;

export interface AppendResult {
  readonly streamId: string;
  /** The stream's version after the append: pass it as `expected` for the next one. */
  readonly nextExpectedVersion: number;
  readonly events: readonly RecordedEvent[];
  /** True when the same events were already stored by an earlier call (an idempotent retry). */
  readonly alreadyStored: boolean;
}

export interface ReadStreamOptions {
  /** First version to read: forward defaults to 1, backward to the last version. */
  readonly from?: number;
  readonly direction?: 'forward' | 'backward';
  readonly limit?: number;
}

export interface ReadAllOptions {
  /** The checkpoint the reader stored: the position of the last event it handled, 0 at the start. */
  readonly after: number;
  /** How many events a page holds; on MongoDB an append's events stay together, so a page can end a few past it. */
  readonly limit?: number;
  /**
   * Only events of these types: exact names, or a family by its prefix ending in
   * a dot ('conversation.'). The others are passed over and the checkpoint moves
   * past them, so a page can be empty while the checkpoint moves: a reader is at
   * the head when the checkpoint stops moving. All types when absent.
   */
  readonly types?: readonly string[];
}

export interface ReadAllResult {
  readonly events: readonly RecordedEvent[];
  /**
   * Where to continue from next time. It can move past positions that hold no
   * event (failed appends), so a reader stores this rather than the last event's position.
   */
  readonly checkpoint: number;
}

export interface Snapshot<TState = unknown> {
  readonly streamId: string;
  /** The stream version the state was built up to. */
  readonly version: number;
  /** Version of the state's own shape; a reader ignores snapshots whose schema it does not know. */
  readonly schemaVersion: number;
  readonly state: TState;
  readonly takenAt: string;
  /** Whose personal data the state holds, if any: an encrypting log seals the state with that subject's key. */
  readonly subjectId?: string;
}

/** A fact of a stream kept beside its snapshots (see EventLog.saveFacts). */
export interface StreamFact {
  readonly key: string;
  readonly value: unknown;
}

export interface ReadUnpublishedOptions {
  readonly limit: number;
  /** Only events recorded before this instant: leaves fresh appends to the process that wrote them. */
  readonly recordedBefore?: Date;
  /** Only events after this log position: a relay pages past events it could not publish yet. */
  readonly afterPosition?: number;
}

/**
 * The event log: the single source of truth. Streams are append-only; every
 * state in Parley is rebuilt from them.
 */
export interface EventLog {
  append(streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  readStream(streamId: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]>;
  /** The stream's current version, 0 when it does not exist. */
  streamVersion(streamId: string): Promise<number>;
  /** Every stream's events in one stable order, for projections and rebuilds. */
  readAll(options: ReadAllOptions): Promise<ReadAllResult>;
  /** The position of the newest event, 0 when the log is empty: how far a reader has to go. */
  lastPosition(): Promise<number>;

  saveSnapshot(snapshot: Snapshot): Promise<void>;
  loadSnapshot(streamId: string): Promise<Snapshot | null>;

  /**
   * Facts of a stream its state does not keep in memory (one message among a
   * hundred thousand), stored when a snapshot is taken and looked up by key when
   * a command needs them. Insert-only: every save adds one value per key (saving
   * the same version again changes nothing), and a look-up returns every value of
   * a key, oldest version first, for the reader to join. Facts are not sealed:
   * they must hold no personal data.
   */
  saveFacts(streamId: string, version: number, facts: readonly StreamFact[]): Promise<void>;
  /** The stored values of these keys, oldest first; keys without any are absent from the map. */
  loadFacts(streamId: string, keys: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>>;

  /** The outbox: events not yet marked as published to the bus, in log order. */
  readUnpublished(options: ReadUnpublishedOptions): Promise<readonly RecordedEvent[]>;
  markPublished(events: readonly EventRef[]): Promise<void>;

  close(): Promise<void>;
}

/** Checks an expectation against the stream's current version (0 = no stream). */
export function expectationHolds(expected: ExpectedVersion, actual: number): boolean {
  switch (expected) {
    case 'any':
      return true;
    case 'no_stream':
      return actual === 0;
    case 'stream_exists':
      return actual > 0;
    default:
      return actual === expected;
  }
}

export function isValidExpectedVersion(expected: unknown): expected is ExpectedVersion {
  return (
    expected === 'any' ||
    expected === 'no_stream' ||
    expected === 'stream_exists' ||
    (typeof expected === 'number' && Number.isSafeInteger(expected) && expected >= 0)
  );
}
