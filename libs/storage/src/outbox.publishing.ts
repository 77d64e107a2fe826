import { STREAM_CATEGORIES, eventsTopic } from '@parley/contracts';
import { LogLease, OutboxRelay, publishingEventLog, type EventLog } from '@parley/event-log';
import type { MessageBus } from '@parley/message-bus';
import type { Logger, LoopProgress, Registry } from '@parley/observability';

/** How a service publishes what it writes. */
export interface PublishSettings {
  readonly bus: MessageBus;
  readonly logger: Logger;
  /** Liveness of the sweep and the lease (HealthRegistry.loop). */
  readonly loop?: (name: string) => LoopProgress;
  /** Leftovers older than this are swept; younger ones are their writer's. Default 5 s. */
  readonly sweepAgeMs?: number;
  readonly sweepIntervalMs?: number;
  readonly leaseTtlMs?: number;
  /** Partitions of the events topics, when this instance creates them. Default 12. */
  readonly partitions?: number;
}

export interface Publishing {
  readonly log: EventLog;
  readonly lease: LogLease;
  stop(): Promise<void>;
}

/**
 * No singleton relays the log: every instance publishes the events it appended,
 * right after the append, and one instance at a time (the holder of the
 * `outbox-sweeper` lease) sweeps what a crashed writer left unpublished.
 */
export async function startPublishing(log: EventLog, settings: PublishSettings, registry: Registry): Promise<Publishing> {
  const { bus, logger } = settings;
  // Brokers usually refuse to create topics on the fly.
  await bus.ensureTopics(STREAM_CATEGORIES.map((c) => ({ name: eventsTopic(c), partitions: settings.partitions ?? 12 })));
  const lease = new LogLease({
    log,
    name: 'outbox-sweeper',
    logger,
    registry,
    ...(settings.leaseTtlMs ? { ttlMs: settings.leaseTtlMs } : {}),
    ...(settings.loop ? { progress: settings.loop('outbox:lease') } : {}),
  });
  const relay = new OutboxRelay({
    log,
    bus,
    logger,
    registry,
    lease,
    sweepIntervalMs: settings.sweepIntervalMs ?? 1000,
    sweepAgeMs: settings.sweepAgeMs ?? 5000,
    ...(settings.loop ? { progress: settings.loop('outbox:sweep') } : {}),
  });
  lease.start();
  relay.start();
  return {
    log: publishingEventLog(log, relay, (error) =>
      logger.warn({ err: (error as Error)?.message }, 'publishing an append failed; the outbox sweep publishes it later'),
    ),
    lease,
    stop: async () => {
      await relay.stop();
      await lease.stop();
    },
  };
}
