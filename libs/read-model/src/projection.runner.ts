import { EventLoopTurns, IdleBackoff, type EventLog, type RecordedEvent } from '@parley/event-log';
import { counter, createLogger, defaultRegistry, gauge, type LoopProgress, type Logger, type Registry } from '@parley/observability';
import type { ReadModelStore } from './read-model.port';

/** Writes of one projection, into the generation being built. */
export interface ProjectionTables {
  /** The physical name of one of the projection's tables in this generation. */
  table(name: string): string;
}

/**
 * A projection turns events into read-model documents. `handle` must be
 * idempotent: after a crash the events since the last checkpoint come again.
 */
export interface Projection {
  readonly name: string;
  readonly tables: readonly string[];
  /** The event types `handle` does anything with (see ReadAllOptions.types); every type when absent. */
  readonly types?: readonly string[];
  handle(event: RecordedEvent, store: ReadModelStore, tables: ProjectionTables): Promise<void>;
  /**
   * Optional, for a projection that buffers its writes over a page of events:
   * write them. Called after every page, before its checkpoint is saved, so a
   * checkpoint never passes writes that are not stored.
   */
  flush?(): Promise<void>;
  /** Optional: forget buffered writes (the page failed and will be read again). */
  discard?(): void;
}

const STATE_TABLE = 'projection_state';
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

interface GenerationDoc {
  readonly id: string;
  readonly generation: number;
  readonly [key: string]: unknown;
}
interface CheckpointDoc {
  readonly id: string;
  readonly position: number;
  readonly [key: string]: unknown;
}

/**
 * Feeds a projection from the log, in log order, saving its checkpoint after
 * each batch. A rebuild writes a new generation of the tables beside the live
 * one while the live one keeps serving and following the log, then switches
 * readers over in one write; the replaced generation is dropped by the next rebuild.
 */
export class ProjectionRunner {
  private running: Promise<void> | null = null;
  private stopped = true;
  private generationCache: { value: number; at: number } | null = null;
  private readonly logger: Logger;
  private readonly position;
  private readonly lag;
  private readonly parkedTotal;
  private reachedHead = false;
  private lastRetryCheck = 0;

  constructor(
    private readonly options: {
      readonly log: EventLog;
      readonly store: ReadModelStore;
      readonly projection: Projection;
      readonly batchSize?: number;
      /** First wait after a look that found nothing (default 100 ms); it doubles while the log stays quiet, up to maxPollMs (default 1 s). */
      readonly pollMs?: number;
      readonly maxPollMs?: number;
      readonly logger?: Logger;
      readonly registry?: Registry;
      /** Tries of one event before it is parked and the projection goes on (default 5, backing off from 100 ms). */
      readonly maxAttempts?: number;
      /** How often parked events an operator asked to retry are looked for (default 5 s). */
      readonly retryCheckMs?: number;
      /** Told after every page and idle poll of the running loop (liveness). */
      readonly progress?: LoopProgress;
    },
  ) {
    this.logger = options.logger ?? createLogger('projection');
    const registry = options.registry ?? defaultRegistry();
    this.position = gauge(registry, {
      name: 'parley_projection_checkpoint_position',
      help: 'Last log position a projection has applied.',
      labelNames: ['projection'] as const,
    });
    this.parkedTotal = counter(registry, {
      name: 'parley_projection_parked_total',
      help: 'Events a projection could not apply after its attempts and parked, so that the rest flows on.',
      labelNames: ['projection'] as const,
    });
    this.lag = gauge(registry, {
      name: 'parley_projection_lag_seconds',
      help: 'Age of the last event a projection applied while more may follow; 0 once it has read up to the head of the log.',
      labelNames: ['projection'] as const,
    });
  }

  /** Whether the live generation has once read up to the head of the log since this runner was made (readiness). */
  get caughtUp(): boolean {
    return this.reachedHead;
  }

  /** The physical table readers should query now. */
  async table(name: string): Promise<string> {
    return physical(name, await this.activeGeneration());
  }

  async activeGeneration(): Promise<number> {
    const now = Date.now();
    if (this.generationCache && now - this.generationCache.at < 500) return this.generationCache.value;
    const doc = await this.options.store.get<GenerationDoc>(STATE_TABLE, `${this.options.projection.name}:generation`);
    const value = doc?.generation ?? 1;
    this.generationCache = { value, at: now };
    return value;
  }

  /** Applies everything new, until caught up; returns how many events it applied. */
  async catchUp(): Promise<number> {
    return this.applyUntilCaughtUp(await this.activeGeneration(), () => false);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const backoff = new IdleBackoff(this.options.pollMs ?? 100, this.options.maxPollMs ?? 1000);
    this.running = (async () => {
      while (!this.stopped) {
        try {
          const applied = (await this.catchUp()) + (await this.retryRequested());
          this.options.progress?.beat();
          const wait = backoff.next(applied > 0);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        } catch (error) {
          this.logger.error({ projection: this.options.projection.name, err: (error as Error)?.message }, 'projection failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    this.running = null;
  }

  /**
   * Applies one event delivered by the bus instead of read from the log (see
   * BusProjectionFeed): to the live generation, tried and parked like any other,
   * flushed before it returns so the bus may commit past it.
   */
  async applyDelivered(event: RecordedEvent): Promise<void> {
    const { projection } = this.options;
    const generation = await this.activeGeneration();
    try {
      await this.applyOrPark(event, { table: (name) => physical(name, generation) });
      await projection.flush?.();
    } catch (error) {
      projection.discard?.();
      throw error;
    }
    this.lag.set({ projection: projection.name }, Math.max(0, (Date.now() - Date.parse(event.recordedAt)) / 1000));
  }

  /** Builds the next generation from the first event while the current one serves, then switches to it. */
  async rebuild(onProgress?: (position: number, applied: number) => void | Promise<void>): Promise<{ generation: number; applied: number }> {
    const { store, projection } = this.options;
    const current = await this.activeGeneration();
    const next = current + 1;
    for (const t of projection.tables) await store.drop(physical(t, next));
    await store.upsert(STATE_TABLE, { id: checkpointId(projection.name, next), position: 0 });
    const applied = await this.applyUntilCaughtUp(next, () => false, onProgress);
    await store.upsert(STATE_TABLE, { id: `${projection.name}:generation`, generation: next });
    this.generationCache = null;
    // The generation just replaced stays until the next rebuild: readers in other
    // processes may still be on it for a moment. The one before it goes now.
    for (const t of projection.tables) await store.drop(physical(t, current - 1));
    return { generation: next, applied };
  }

  private async applyUntilCaughtUp(
    generation: number,
    stop: () => boolean,
    onProgress?: (position: number, applied: number) => void | Promise<void>,
  ): Promise<number> {
    const { log, store, projection } = this.options;
    const id = checkpointId(projection.name, generation);
    let checkpoint = (await store.get<CheckpointDoc>(STATE_TABLE, id))?.position ?? 0;
    const tables: ProjectionTables = { table: (name) => physical(name, generation) };
    let applied = 0;
    const turns = new EventLoopTurns();
    // A rebuild fills the next generation: its progress is not the live projection's lag.
    const live = generation === (await this.activeGeneration());
    while (!stop()) {
      const page = await log.readAll({ after: checkpoint, limit: this.options.batchSize ?? 500, ...(projection.types ? { types: projection.types } : {}) });
      const moved = page.checkpoint !== checkpoint;
      try {
        for (const event of page.events) {
          await this.applyOrPark(event, tables);
          await turns.pause();
        }
        await projection.flush?.();
      } catch (error) {
        projection.discard?.();
        throw error;
      }
      if (moved) {
        checkpoint = page.checkpoint;
        await store.upsert(STATE_TABLE, { id, position: checkpoint });
        if (live) this.position.set({ projection: projection.name }, checkpoint);
      }
      applied += page.events.length;
      if (live) this.options.progress?.beat();
      await onProgress?.(checkpoint, applied);
      const last = page.events.at(-1);
      // A page of other types only is empty and moves the checkpoint: the lag is then unknown, not 0.
      if (live && (last || !moved)) this.lag.set({ projection: projection.name }, last ? Math.max(0, (Date.now() - Date.parse(last.recordedAt)) / 1000) : 0);
      // At the head when the checkpoint stops.
      if (!moved) {
        if (live) this.reachedHead = true;
        return applied;
      }
      // Pages of other types only never reach the pause after each event.
      await turns.pause();
    }
    return applied;
  }

  /**
   * One event, tried a few times; one that still fails is parked with its reason and
   * the projection goes on, so that no single event stops it for everybody. A store
   * that cannot even take the parked row fails the page, which is read again later.
   */
  private async applyOrPark(event: RecordedEvent, tables: ProjectionTables): Promise<void> {
    const { store, projection } = this.options;
    const attempts = this.options.maxAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        return await projection.handle(event, store, tables);
      } catch (error) {
        if (attempt >= attempts) {
          await store.upsert(PARKED_TABLE, {
            id: parkedId(projection.name, event.id),
            projection: projection.name,
            eventId: event.id,
            position: event.position,
            streamId: event.streamId,
            streamVersion: event.streamVersion,
            type: event.type,
            reason: describe(error),
            attempts: attempt,
            parkedAt: new Date().toISOString(),
            retryRequested: false,
          } satisfies ParkedEvent);
          this.parkedTotal.inc({ projection: projection.name });
          this.logger.error(
            { projection: projection.name, eventId: event.id, type: event.type, position: event.position, attempts: attempt, reason: describe(error) },
            'event parked: the projection goes on without it',
          );
          return;
        }
        this.logger.warn(
          { projection: projection.name, eventId: event.id, type: event.type, attempt, reason: describe(error) },
          'projection failed on an event; trying again',
        );
        await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** (attempt - 1), 2000)));
      }
    }
  }

  /** This projection's parked events, oldest first. */
  async parked(limit = 100): Promise<readonly ParkedEvent[]> {
    return (
      await this.options.store.find<ParkedEvent>(PARKED_TABLE, {
        where: { projection: this.options.projection.name },
        orderBy: { field: 'position', direction: 'asc' },
        limit,
      })
    ).documents;
  }

  /** Applies again the parked events an operator asked to retry (at most every retryCheckMs); returns how many now went through. */
  private async retryRequested(): Promise<number> {
    const now = Date.now();
    if (now - this.lastRetryCheck < (this.options.retryCheckMs ?? 5000)) return 0;
    this.lastRetryCheck = now;
    const { store, projection, log } = this.options;
    const asked = (
      await store.find<ParkedEvent>(PARKED_TABLE, {
        where: { projection: projection.name, retryRequested: true },
        orderBy: { field: 'position', direction: 'asc' },
        limit: 100,
      })
    ).documents;
    const generation = await this.activeGeneration();
    const tables: ProjectionTables = { table: (name) => physical(name, generation) };
    let done = 0;
    for (const row of asked) {
      // Read from its stream: the projection's log may be a tail that serves only some types, or only recent positions.
      const event = (await log.readStream(row.streamId, { from: row.streamVersion, limit: 1 })).find((e) => e.id === row.eventId);
      try {
        // An event gone from the log (erased) has nothing left to apply.
        if (event) await projection.handle(event, store, tables);
        await projection.flush?.();
        await store.delete(PARKED_TABLE, row.id);
        done++;
        this.logger.info({ projection: projection.name, eventId: row.eventId }, 'parked event applied on retry');
      } catch (error) {
        projection.discard?.();
        await store.upsert(PARKED_TABLE, { ...row, reason: describe(error), attempts: row.attempts + 1, retryRequested: false });
        this.logger.error({ projection: projection.name, eventId: row.eventId, reason: describe(error) }, 'parked event failed again on retry');
      }
    }
    return done;
  }
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

function parkedId(projection: string, eventId: string): string {
  return `${projection}:${eventId}`;
}

function describe(error: unknown): string {
  return (error instanceof Error ? `${error.name}: ${error.message}` : String(error)).slice(0, 500);
}

function physical(table: string, generation: number): string {
  return `${table}_g${generation}`;
}

function checkpointId(name: string, generation: number): string {
  return `${name}:checkpoint:g${generation}`;
}
