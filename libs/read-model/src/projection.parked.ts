import type { ReadModelStore } from './read-model.port';

/** Events a projection could not apply after its attempts, kept with the reason until an operator retries them. */
export const PARKED_TABLE = 'projection_parked';

/** One parked event: what failed, why, and whether an operator asked for another try. */
export interface ParkedEvent {
  readonly id: string;
  readonly projection: string;
  readonly eventId: string;
  readonly position: number;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly type: string;
  /** The error's name and message, at most 500 characters (Parley's errors carry no personal data). */
  readonly reason: string;
  readonly attempts: number;
  readonly parkedAt: string;
  /** Set by `requestRetry` (the `parked` CLI); the projection applies the event again on its next look. */
  readonly retryRequested: boolean;
  readonly [key: string]: unknown;
}

/** Asks the projections that parked these events (or every parked event, without ids) to apply them again. */
export async function requestRetry(store: ReadModelStore, ids?: readonly string[]): Promise<number> {
  let asked = 0;
  for (;;) {
    const page = await store.find<ParkedEvent>(PARKED_TABLE, {
      where: { retryRequested: false },
      orderBy: { field: 'position', direction: 'asc' },
      limit: 500,
    });
    const wanted = page.documents.filter((row) => !ids || ids.includes(row.id) || ids.includes(row.eventId));
    for (const row of wanted) await store.upsert(PARKED_TABLE, { ...row, retryRequested: true });
    asked += wanted.length;
    if (!page.nextPageToken || wanted.length === 0) return asked;
  }
}

/** Every parked event in a store, of every projection, oldest first. */
export async function listParked(store: ReadModelStore, limit = 500): Promise<readonly ParkedEvent[]> {
  return (await store.find<ParkedEvent>(PARKED_TABLE, { orderBy: { field: 'position', direction: 'asc' }, limit })).documents;
}

export function parkedId(projection: string, eventId: string): string {
  return `${projection}:${eventId}`;
}

/** An error as a parked event keeps it: name and message, at most 500 characters. */
export function describeError(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);
}
