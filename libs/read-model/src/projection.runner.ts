import { EventLoopTurns, IdleBackoff, typeMatcher, type EventLog, type RecordedEvent } from '@parley/event-log';
import { counter, createLogger, defaultRegistry, gauge, type LoopProgress, type Logger, type Registry } from '@parley/observability';
import type { ReadModelStore } from './read-model.port';
import { StreamOrder, streamsTableOf } from './stream-order';
import { PARKED_TABLE, describeError, parkedId, type ParkedEvent } from './projection.parked';

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
/** How long a process goes on writing to a generation after a rebuild replaced it, at most. */
const GENERATION_CACHE_MS = 500;
interface GenerationDoc {
  readonly id: string;
  readonly generation: number;
  /** A rebuild's last pass is writing this generation: bus-fed replicas hold their events until it hands over (or `pendingUntil` passes). */
  readonly pending?: number;
  readonly pendingUntil?: number;
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
  private generationCache: { value: number; pending: { generation: number; until: number } | null; at: number } | null = null;
  private readonly logger: Logger;
  private readonly position;
  private readonly lag;
  private readonly parkedTotal;
  private reachedHead = false;
  private lastRetryCheck = 0;
  private readonly order: StreamOrder | null;
  private handover: { generation: number; position: number } | null = null;

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
      /**
       * Bus-delivered events are applied once each and in each stream's order
       * (see StreamOrder), after a log pass up to a recorded handover position
       * (see handOver). Without it they are applied as they come.
       */
      readonly inStreamOrder?: boolean;
      /** With inStreamOrder: the first event of a stream never applied is taken as it comes, its past not read (see StreamOrder). */
      readonly newStreamsAsDelivered?: boolean;
    },
  ) {
    this.logger = options.logger ?? createLogger('projection');
    this.order = options.inStreamOrder
      ? new StreamOrder(options.log, options.store, typeMatcher(options.projection.types), !options.newStreamsAsDelivered)
      : null;
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
    return (await this.generationState()).value;
  }

  private async generationState(): Promise<NonNullable<ProjectionRunner['generationCache']>> {
    const now = Date.now();
    if (this.generationCache && now - this.generationCache.at < GENERATION_CACHE_MS) return this.generationCache;
    const doc = await this.options.store.get<GenerationDoc>(STATE_TABLE, generationId(this.options.projection.name));
    this.generationCache = {
      value: doc?.generation ?? 1,
      pending: doc?.pending !== undefined ? { generation: doc.pending, until: doc.pendingUntil ?? 0 } : null,
      at: now,
    };
    return this.generationCache;
  }

  /** The generation bus-delivered events go to: the active one, once no rebuild is in its last pass. */
  private async deliveryGeneration(): Promise<number> {
    for (;;) {
      const state = await this.generationState();
      if (!state.pending || state.pending.generation <= state.value || Date.now() > state.pending.until) return state.value;
      await new Promise((r) => setTimeout(r, 100));
    }
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
   * Hands the projection over from the log to the bus: the first replica to
   * start a generation applies the log up to its head and records that position;
   * bus-delivered events at or below it are then dropped unread, and those above
   * are applied in stream order, so nothing between the two is missed or applied
   * twice. Later starts find the position recorded and go straight to the bus
   * (its consumer group resumes where it committed): no log pass that grows
   * with the log.
   */
  async handOver(): Promise<{ readonly position: number; readonly fromLog: boolean }> {
    const { store, projection } = this.options;
    const generation = await this.activeGeneration();
    const recorded = await store.get<CheckpointDoc>(STATE_TABLE, handoverId(projection.name, generation));
    if (recorded) {
      this.reachedHead = true;
      return { position: recorded.position, fromLog: false };
    }
    await this.catchUp();
    const position = await this.checkpoint(generation);
    await store.upsert(STATE_TABLE, { id: handoverId(projection.name, generation), position });
    return { position, fromLog: true };
  }

  /**
   * Applies one event delivered by the bus instead of read from the log (see
   * BusProjectionFeed): to the live generation, tried and parked like any other,
   * flushed before it returns so the bus may commit past it.
   */
  async applyDelivered(event: RecordedEvent): Promise<void> {
    const { projection } = this.options;
    const generation = this.order ? await this.deliveryGeneration() : await this.activeGeneration();
    const tables: ProjectionTables = { table: (name) => physical(name, generation) };
    try {
      if (this.order) {
        const streams = physical(streamsTableOf(projection.name), generation);
        const events = await this.order.admit(event, generation, streams, await this.handoverPosition(generation));
        if (events.length === 0) return;
        for (const e of events) await this.applyOrPark(e, tables);
        await projection.flush?.();
        await this.order.applied(event, streams);
      } else {
        await this.applyOrPark(event, tables);
        await projection.flush?.();
      }
    } catch (error) {
      projection.discard?.();
      throw error;
    }
    this.lag.set({ projection: projection.name }, Math.max(0, (Date.now() - Date.parse(event.recordedAt)) / 1000));
  }

  /** An event of a type this projection does not take went by on the bus (see StreamOrder.skipped). */
  skipDelivered(streamId: string, streamVersion: number): void {
    if (this.order && this.generationCache) this.order.skipped(streamId, streamVersion, this.generationCache.value);
  }

  private async handoverPosition(generation: number): Promise<number> {
    if (this.handover?.generation !== generation) {
      const recorded = await this.options.store.get<CheckpointDoc>(STATE_TABLE, handoverId(this.options.projection.name, generation));
      this.handover = { generation, position: recorded?.position ?? 0 };
    }
    return this.handover.position;
  }

  /**
   * Builds the next generation from the first event while the current one
   * serves, then switches to it. Bus-fed replicas go on writing the current
   * generation meanwhile; for the last pass they hold their events (at most
   * `lastPassMs`), so that only the pass writes the new generation up to the
   * handover position it records, and only they write it after.
   */
  async rebuild(
    onProgress?: (position: number, applied: number) => void | Promise<void>,
    { lastPassMs = 60_000 }: { lastPassMs?: number } = {},
  ): Promise<{ generation: number; applied: number }> {
    const { store, projection } = this.options;
    const current = await this.activeGeneration();
    const next = current + 1;
    const tables = [...projection.tables, streamsTableOf(projection.name)];
    for (const t of tables) await store.drop(physical(t, next));
    await store.upsert(STATE_TABLE, { id: checkpointId(projection.name, next), position: 0 });
    await store.delete(STATE_TABLE, handoverId(projection.name, next));
    let applied = await this.applyUntilCaughtUp(next, () => false, onProgress);
    const until = Date.now() + lastPassMs;
    await store.upsert(STATE_TABLE, { id: generationId(projection.name), generation: current, pending: next, pendingUntil: until } satisfies GenerationDoc);
    // Every replica reads the generation state at most this long ago: after it, all of them hold their events.
    await new Promise((r) => setTimeout(r, 2 * GENERATION_CACHE_MS));
    applied += await this.applyUntilCaughtUp(next, () => false, onProgress);
    if (Date.now() > until) {
      await store.upsert(STATE_TABLE, { id: generationId(projection.name), generation: current } satisfies GenerationDoc);
      throw new Error(`the rebuild's last pass took longer than ${lastPassMs} ms; generation ${current} stays`);
    }
    await store.upsert(STATE_TABLE, { id: handoverId(projection.name, next), position: await this.checkpoint(next) });
    await store.upsert(STATE_TABLE, { id: generationId(projection.name), generation: next } satisfies GenerationDoc);
    this.generationCache = null;
    // The generation just replaced stays until the next rebuild: readers in other
    // processes may still be on it for a moment. The one before it goes now.
    for (const t of tables) await store.drop(physical(t, current - 1));
    return { generation: next, applied };
  }

  private async checkpoint(generation: number): Promise<number> {
    return (await this.options.store.get<CheckpointDoc>(STATE_TABLE, checkpointId(this.options.projection.name, generation)))?.position ?? 0;
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
        const stored = await this.storedVersions(page.events, generation);
        for (const event of page.events) {
          // Already applied by a replica fed from the bus (a rebuild's last pass, a replica starting beside running ones).
          if (event.streamVersion <= (stored.get(event.streamId) ?? 0)) continue;
          await this.applyOrPark(event, tables);
          await turns.pause();
        }
        await projection.flush?.();
        await this.raiseStreamVersions(page.events, stored, generation);
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

  /** How far each stream of a page is applied already (StreamOrder keeps it for the bus-fed replicas). */
  private async storedVersions(events: readonly RecordedEvent[], generation: number): Promise<ReadonlyMap<string, number>> {
    if (events.length === 0) return new Map();
    const table = physical(streamsTableOf(this.options.projection.name), generation);
    const ids = [...new Set(events.map((e) => e.streamId))];
    return new Map((await this.options.store.getMany<{ id: string; version: number }>(table, ids)).map((d) => [d.id, d.version]));
  }

  /** Where each stream of a page now stands, for the bus-fed replicas; never lowered (one of them may be further on). */
  private async raiseStreamVersions(events: readonly RecordedEvent[], stored: ReadonlyMap<string, number>, generation: number): Promise<void> {
    const raised = StreamOrder.pageVersions(events).filter((d) => d.version > (stored.get(d.id) ?? 0));
    if (raised.length > 0) await this.options.store.upsertMany(physical(streamsTableOf(this.options.projection.name), generation), raised);
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
            reason: describeError(error),
            attempts: attempt,
            parkedAt: new Date().toISOString(),
            retryRequested: false,
          } satisfies ParkedEvent);
          this.parkedTotal.inc({ projection: projection.name });
          this.logger.error(
            { projection: projection.name, eventId: event.id, type: event.type, position: event.position, attempts: attempt, reason: describeError(error) },
            'event parked: the projection goes on without it',
          );
          return;
        }
        this.logger.warn(
          { projection: projection.name, eventId: event.id, type: event.type, attempt, reason: describeError(error) },
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
        await store.upsert(PARKED_TABLE, { ...row, reason: describeError(error), attempts: row.attempts + 1, retryRequested: false });
        this.logger.error({ projection: projection.name, eventId: row.eventId, reason: describeError(error) }, 'parked event failed again on retry');
      }
    }
    return done;
  }
}

function physical(table: string, generation: number): string {
  return `${table}_g${generation}`;
}

function generationId(name: string): string {
  return `${name}:generation`;
}

function handoverId(name: string, generation: number): string {
  return `${name}:handover:g${generation}`;
}

function checkpointId(name: string, generation: number): string {
  return `${name}:checkpoint:g${generation}`;
}
