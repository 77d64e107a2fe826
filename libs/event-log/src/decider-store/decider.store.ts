import type { EventContract } from '@parley/contracts';
import { upcast } from '@parley/contracts';
import { counter, defaultRegistry, type Registry } from '@parley/observability';
import { ZodError } from 'zod';
import { fold, type Decider } from '@parley/decider';
import { isErased } from '../crypto/encrypting.event-log';
import type { NewEvent, RecordedEvent } from '../event-envelope';
import { WrongExpectedVersionError } from '../event-log.errors';
import type { EventLog } from '../event-log.port';

export interface DomainEvent {
  readonly type: string;
  readonly data: unknown;
}

export interface DeciderStoreOptions<Command, Event extends DomainEvent, State> {
  readonly log: EventLog;
  readonly decider: Decider<Command, Event, State>;
  /** The current contract of every event type the stream holds: read events are upcast and validated with it. */
  readonly contracts: ReadonlyMap<string, EventContract>;
  /** The shape version of State; a snapshot of another version is ignored and the state rebuilt. */
  readonly snapshotSchemaVersion: number;
  /** Take a snapshot when this many events were read past the last one. */
  readonly snapshotEvery?: number;
  /** Retries after a concurrency conflict (reload, decide again). */
  readonly maxRetries?: number;
  /**
   * States kept in memory, by stream (least recently used go first). A cached
   * state still reads the events after it from the log on every load, so other
   * writers are never missed; it only saves replaying (and decrypting) the past.
   */
  readonly cacheSize?: number;
  /**
   * Told once per successful append, with the events this store decided and the
   * state they were decided on: where writers count what they wrote (metrics),
   * so nothing is counted twice by instances or replays.
   */
  /** Where stored events taken although today's schema refuses them are counted (the default registry when not given). */
  readonly registry?: Registry;
  readonly onAppended?: (appended: { readonly streamId: string; readonly previous: State; readonly events: readonly Event[]; readonly state: State }) => void;
}

export interface Loaded<State> {
  readonly state: State;
  readonly version: number;
  readonly readSinceSnapshot: number;
}

export interface HandleHint {
  /**
   * The stream is named after an id the caller has just made, so nobody can have
   * written to it: it is decided on without being read. Only a hint: were it
   * wrong, the append's expected version refuses it, and the stream is read and
   * decided on again, as for a stale cached state.
   */
  readonly newStream?: boolean;
}

export interface Decided<State> {
  readonly state: State;
  /** The state the commands were decided on. */
  readonly previous: State;
  readonly version: number;
  readonly events: readonly RecordedEvent[];
}

/**
 * Runs commands against one stream: load (snapshot plus the events after it),
 * decide, append with the version it was decided on, and on a conflict load and
 * decide again. The one place where deciders meet the log.
 */
export class DeciderStore<Command, Event extends DomainEvent, State> {
  private readonly cache = new Map<string, Loaded<State>>();

  constructor(private readonly options: DeciderStoreOptions<Command, Event, State>) {}

  async load(streamId: string): Promise<Loaded<State>> {
    const cached = this.cache.get(streamId);
    if (cached) {
      const tail = await this.options.log.readStream(streamId, { from: cached.version + 1 });
      if (tail.length === 0) return this.remember(streamId, cached);
      return this.remember(streamId, {
        state: fold(
          this.options.decider,
          tail.map((e) => this.toDomain(e)),
          cached.state,
        ),
        version: tail.at(-1)!.streamVersion,
        readSinceSnapshot: cached.readSinceSnapshot + tail.length,
      });
    }
    return this.remember(streamId, await this.loadFromLog(streamId));
  }

  private remember(streamId: string, loaded: Loaded<State>): Loaded<State> {
    const size = this.options.cacheSize ?? 0;
    // A stream that does not exist yet is remembered too: a first contact asks for
    // the same new streams several times, and a cached state still reads whatever
    // another writer appended since (or finds out from the append).
    if (size <= 0) return loaded;
    this.cache.delete(streamId);
    this.cache.set(streamId, loaded);
    if (this.cache.size > size) this.cache.delete(this.cache.keys().next().value!);
    return loaded;
  }

  private async loadFromLog(streamId: string): Promise<Loaded<State>> {
    const { log, decider, snapshotSchemaVersion } = this.options;
    const snapshot = await log.loadSnapshot(streamId);
    const usable = snapshot && snapshot.schemaVersion === snapshotSchemaVersion;
    const state0 = usable ? (snapshot.state as State) : decider.initialState();
    let version = usable ? snapshot.version : 0;
    const tail = await log.readStream(streamId, { from: version + 1 });
    const state = fold(
      decider,
      tail.map((e) => this.toDomain(e)),
      state0,
    );
    version = tail.at(-1)?.streamVersion ?? version;
    return { state, version, readSinceSnapshot: tail.length };
  }

  async handle(streamId: string, command: Command, envelope: Omit<NewEvent, 'type' | 'data' | 'id'>, hint: HandleHint = {}): Promise<Decided<State>> {
    return this.handleAll(streamId, [command], envelope, hint);
  }

  /**
   * Several commands, each decided on the state the previous ones lead to, and
   * their events appended at once: all or nothing, in one write.
   */
  async handleAll(
    streamId: string,
    commands: readonly Command[],
    envelope: Omit<NewEvent, 'type' | 'data' | 'id'>,
    hint: HandleHint = {},
  ): Promise<Decided<State>> {
    const retries = this.options.maxRetries ?? 3;
    // A cached state is decided on at once: the append's expected version tells
    // whether another writer came first, and then the state is reloaded. That saves
    // a read per command, a round trip on MongoDB. A stream the caller believes new
    // is taken as empty the same way, and costs no read either when it is.
    const guess = this.cache.get(streamId) ?? (hint.newStream ? { state: this.options.decider.initialState(), version: 0, readSinceSnapshot: 0 } : undefined);
    let optimistic = guess !== undefined;
    for (let attempt = 0; ; attempt++) {
      const { state, version, readSinceSnapshot } = optimistic ? guess! : await this.load(streamId);
      let decided: Event[] = [];
      let next = state;
      try {
        ({ events: decided, state: next } = await this.decideAll(streamId, version, commands, state));
      } catch (error) {
        if (!optimistic) throw error;
      }
      if (decided.length === 0) {
        // A refusal or nothing to write proves nothing about a cached state: ask the log.
        if (optimistic) {
          optimistic = false;
          attempt--;
          continue;
        }
        return { state, previous: state, version, events: [] };
      }
      try {
        const result = await this.options.log.append(
          streamId,
          decided.map((e) => this.toNew(e, envelope)),
          version,
        );
        if (!result.alreadyStored) this.options.onAppended?.({ streamId, previous: state, events: decided, state: next });
        const snapshotDue = readSinceSnapshot + decided.length >= (this.options.snapshotEvery ?? 100);
        if (!snapshotDue) this.remember(streamId, { state: next, version: result.nextExpectedVersion, readSinceSnapshot: readSinceSnapshot + decided.length });
        else
          this.remember(streamId, {
            state: await this.saveSnapshot(streamId, result.nextExpectedVersion, next, envelope),
            version: result.nextExpectedVersion,
            readSinceSnapshot: 0,
          });
        return { state: next, previous: state, version: result.nextExpectedVersion, events: result.events };
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        // A stale cached state does not count as a lost race.
        if (optimistic) attempt--;
        else if (attempt >= retries) throw error;
        optimistic = false;
      }
    }
  }

  /**
   * Stores the state as of `version`: first the facts it gathered (so that a
   * snapshot never stands for facts that are not stored), then the state
   * without them, which is also what is kept in memory from now on.
   */
  private async saveSnapshot(streamId: string, version: number, state: State, envelope: Omit<NewEvent, 'type' | 'data' | 'id'>): Promise<State> {
    const facts = this.options.decider.facts;
    let head = state;
    if (facts) {
      const taken = facts.take(state);
      await this.options.log.saveFacts(streamId, version, taken.facts);
      head = taken.state;
    }
    await this.options.log.saveSnapshot({
      streamId,
      version,
      schemaVersion: this.options.snapshotSchemaVersion,
      state: head,
      takenAt: new Date().toISOString(),
      ...(typeof envelope.metadata?.['subjectId'] === 'string' ? { subjectId: envelope.metadata['subjectId'] } : {}),
    });
    return head;
  }

  /** The events the commands cause, and the state they lead to (folded once: it is the state kept after the append). */
  private async decideAll(streamId: string, version: number, commands: readonly Command[], state: State): Promise<{ events: Event[]; state: State }> {
    const decided: Event[] = [];
    let deciding = state;
    for (const command of commands) {
      // A stream with no events yet has no stored facts either.
      const events = this.options.decider.decide(command, version === 0 ? deciding : await this.withFacts(streamId, command, deciding));
      if (events.length === 0) continue;
      decided.push(...events);
      // Folded into the state itself, not into the view with the looked-up facts: the state gathers only what its events touch.
      deciding = fold(this.options.decider, events, deciding);
    }
    return { events: decided, state: deciding };
  }

  /** The state with the stored facts the command needs; one look-up per round, and a fact can name another (at most three rounds). */
  private async withFacts(streamId: string, command: Command, state: State): Promise<State> {
    const facts = this.options.decider.facts;
    if (!facts) return state;
    const asked = new Set<string>();
    let view = state;
    for (let round = 0; round < 3; round++) {
      const keys = facts.needs(command, view).filter((key) => !asked.has(key));
      if (keys.length === 0) break;
      for (const key of keys) asked.add(key);
      view = facts.with(view, await this.options.log.loadFacts(streamId, keys));
    }
    return view;
  }

  /** Field by field: spreading envelopes of every caller's own shape is V8's slowest copy. */
  private toNew(event: Event, envelope: Omit<NewEvent, 'type' | 'data' | 'id'>): NewEvent {
    return {
      type: event.type,
      schemaVersion: this.options.contracts.get(event.type)?.version ?? 1,
      tenantId: envelope.tenantId,
      occurredAt: envelope.occurredAt,
      correlationId: envelope.correlationId,
      causationId: envelope.causationId,
      data: event.data,
      metadata: envelope.metadata,
    };
  }

  private toDomain(event: RecordedEvent): Event {
    const contract = this.options.contracts.get(event.type);
    if (!contract) throw new Error(`no contract for event type ${event.type}`);
    try {
      return { type: event.type, data: upcast(contract, event.schemaVersion, event.data) } as Event;
    } catch (error) {
      // An erased customer's personal fields no longer fit their schema; the
      // decider never reads them, so the event is taken as it is.
      if (containsErased(event.data)) return { type: event.type, data: event.data } as Event;
      // A stored event that today's schema refuses (a limit tightened, a writer's bug) is
      // a fact all the same: taken as written and counted, never a stream that fails for ever.
      if (!(error instanceof ZodError)) throw error;
      toleratedEvents(this.options.registry).inc({ type: event.type });
      return { type: event.type, data: event.data } as Event;
    }
  }
}

function toleratedEvents(registry: Registry = defaultRegistry()) {
  return counter(registry, {
    name: 'parley_event_log_tolerated_events_total',
    help: "Stored events read although today's schema refuses them (taken as written), by event type.",
    labelNames: ['type'] as const,
  });
}

function containsErased(value: unknown): boolean {
  if (isErased(value)) return true;
  if (Array.isArray(value)) return value.some(containsErased);
  if (value !== null && typeof value === 'object') return Object.values(value).some(containsErased);
  return false;
}
