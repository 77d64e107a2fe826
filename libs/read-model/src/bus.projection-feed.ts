import { fromCloudEventMessage, typeMatcher } from '@parley/event-log';
import type { RecordedEvent } from '@parley/event-log';
import { busConsumer, type BusConsumer, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';
import type { Projection, ProjectionRunner } from './projection.runner';

export interface BusProjectionFeedOptions {
  readonly bus: MessageBus;
  readonly runner: ProjectionRunner;
  readonly projection: Projection;
  /** The group the replicas share: each takes some partitions, so each event is handled by one of them. */
  readonly groupId: string;
  /** The events topics the projection's types are published to, e.g. `parley.conversation.events`. */
  readonly topics: readonly string[];
  /** Liveness: beaten while the consumer runs, idle or not. */
  readonly progress?: LoopProgress;
  /** Events travel as stored, personal fields sealed: a projection that reads them opens them here. */
  readonly open?: (event: RecordedEvent) => Promise<RecordedEvent>;
}

/**
 * Feeds a projection from the bus instead of polling the log: replicas in one
 * consumer group split the partitions, so an event is handled by the replica
 * that owns its stream's partition, not by every replica. The offset is
 * committed only after the projection applied (or parked) the event; after a
 * crash or a rebalance the new owner gets the events since the last commit
 * again, so the projection must be idempotent (as every projection is).
 */
export class BusProjectionFeed {
  private readonly wanted;
  /** The feed as its service runs it: a bus transport in the shared group and the controller of its `@EventPattern` handlers. */
  readonly consumer: BusConsumer;

  constructor(private readonly options: BusProjectionFeedOptions) {
    const { bus, projection, groupId, topics, progress } = options;
    this.wanted = typeMatcher(projection.types);
    this.consumer = busConsumer({
      name: groupId,
      bus,
      groupId,
      topics,
      ...(progress ? { progress } : {}),
      handle: (message) => this.handle(message),
    });
  }

  /** One message of the projection's topics. */
  async handle(message: IncomingMessage): Promise<void> {
    const { runner, open } = this.options;
    // Cheap check on the header first: most events are not this projection's.
    const { ce_type: type, ce_subject: stream, ce_streamversion: version } = message.headers;
    if (type !== undefined && !this.wanted(type)) {
      if (stream !== undefined && version !== undefined) runner.skipDelivered(stream, Number(version));
      return;
    }
    const event = fromCloudEventMessage(message);
    await runner.applyDelivered(open ? await open(event) : event);
  }

  /** Whether its consumer takes messages (readiness). */
  running(): boolean {
    return this.consumer.transport.running();
  }
}
