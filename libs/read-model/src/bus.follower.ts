import { fromCloudEventMessage, typeMatcher, type EventLog, type EventTypes, type RecordedEvent } from '@parley/event-log';
import { busConsumer, instanceGroup, type BusConsumer, type IncomingMessage, type InstanceGroup, type MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';

export interface BusFollowerOptions {
  readonly bus: MessageBus;
  /** Where missing events of a stream are read from. */
  readonly log: Pick<EventLog, 'readStream'>;
  /** A group of this instance's own (e.g. `parley-routing-availability-model-<instance>`): it gets every partition. */
  readonly group: InstanceGroup;
  readonly topics: readonly string[];
  readonly types: EventTypes;
  /** Each event of `types`, once and in its stream's order. */
  readonly apply: (event: RecordedEvent) => void | Promise<void>;
  /** Liveness: beaten while the consumer runs, idle or not. */
  readonly progress?: LoopProgress;
  /** Streams whose last version is remembered (for repeats and gaps); the least recently seen are forgotten past it. */
  readonly maxStreams?: number;
}

/**
 * Keeps an in-memory model of one instance (every replica holds all of it: the
 * availability model, a live feed) up to date from the bus instead of polling
 * the log. At start it takes the end of its topics, then the model reads the
 * log to its head (its rebuild), then the bus carries on from that end: what was
 * published while the log was read comes through the bus and is dropped when
 * the log pass had it (its position is at or below the pass's), so there is no
 * gap and no repeat at the handover. After it, each stream's events are applied
 * once and in order: repeats dropped, missing ones read from its stream.
 * The instance's own appends can be handed in at once (`deliver`), so a caller
 * reads its own write; the bus's copy is then a repeat.
 */
export class BusFollower {
  private readonly versions = new Map<string, number>();
  private readonly wanted: (type: string) => boolean;
  private consumerOf: BusConsumer | null = null;
  private handover = Number.POSITIVE_INFINITY;
  private exclusive: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: BusFollowerOptions) {
    this.wanted = typeMatcher(options.types);
  }

  /**
   * The follower as its service runs it: a bus transport of its own (a group of
   * this instance's own) and the controller of its `@EventPattern` handlers. When
   * the transport starts, it takes the topics' end, `rebuild` reads the log to its
   * head and returns the position it reached, and the bus carries on from that end.
   */
  consumer(rebuild: () => Promise<number>): BusConsumer {
    const { bus, group, topics, progress } = this.options;
    this.consumerOf ??= busConsumer({
      name: group.label,
      bus,
      ...instanceGroup(group),
      topics,
      fromBeginning: false,
      ...(progress ? { progress } : {}),
      startAt: async () => {
        const end = await bus.endOffsets(topics);
        this.handover = await rebuild();
        return end;
      },
      handle: (message) => this.handle(message),
    });
    return this.consumerOf;
  }

  /** One message of the follower's topics. */
  async handle(message: IncomingMessage): Promise<void> {
    const { ce_type: type, ce_subject: stream, ce_streamversion: version } = message.headers;
    // Other types are not parsed; they only keep the stream's count of versions seen, so they open no gap.
    if (type !== undefined && stream !== undefined && version !== undefined && !this.wanted(type)) return this.skipped(stream, Number(version));
    await this.deliver(fromCloudEventMessage(message));
  }

  /** Applies an event (from the bus, or just appended by this instance) unless it was applied already; fills a gap before it. */
  deliver(event: RecordedEvent): Promise<void> {
    // One at a time: the bus's partitions and the instance's own writes interleave otherwise.
    const run = this.exclusive.then(() => this.admit(event));
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  /** Whether its consumer takes messages (readiness). */
  running(): boolean {
    return this.consumerOf?.transport.running() ?? false;
  }

  private skipped(streamId: string, version: number): void {
    if (this.versions.get(streamId) === version - 1) this.remember(streamId, version);
  }

  private async admit(event: RecordedEvent): Promise<void> {
    const { streamId, streamVersion } = event;
    if (!this.wanted(event.type)) return this.skipped(streamId, streamVersion);
    if (event.position <= this.handover) return;
    const last = this.versions.get(streamId);
    if (last !== undefined && streamVersion <= last) return;
    if (last !== undefined && streamVersion > last + 1) {
      const missing = await this.options.log.readStream(streamId, { from: last + 1, limit: streamVersion - last - 1 });
      for (const m of missing) if (this.wanted(m.type) && m.position > this.handover) await this.options.apply(m);
    }
    await this.options.apply(event);
    this.remember(streamId, streamVersion);
  }

  private remember(streamId: string, version: number): void {
    this.versions.delete(streamId);
    this.versions.set(streamId, version);
    if (this.versions.size > (this.options.maxStreams ?? 200_000)) this.versions.delete(this.versions.keys().next().value!);
  }
}

/**
 * The log as an instance's writers use it when a BusFollower keeps its model:
 * every append is handed to the follower before the append returns, so the
 * writer (and its caller) reads its own write; the bus's copy is a repeat.
 */
export function deliveringAppends<L extends EventLog>(log: L, follower: BusFollower): L {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'append') {
        return async (...args: Parameters<EventLog['append']>) => {
          const result = await target.append(...args);
          for (const event of result.events) await follower.deliver(event);
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
