import { eventsTopic } from '@parley/contracts';
import type { EventLog } from '@parley/event-log';
import type { InstanceGroup, MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';
import { BusFollower, deliveringAppends } from '@parley/read-model';
import { AVAILABILITY_MODEL_TYPES, type AvailabilityModel } from './availability.model';

/** The events topics that carry the model's types: agents, queues, targeting rules, visitors' invitations, conversations. */
export const AVAILABILITY_MODEL_TOPICS: readonly string[] = (['agent', 'queue', 'targeting', 'visitor', 'conversation'] as const).map(eventsTopic);

export interface AvailabilityOnBus {
  readonly follower: BusFollower;
  /** The log for this instance's writers: what they append reaches the model before the append returns (a caller reads its own write). */
  writers<L extends EventLog>(log: L): L;
}

/**
 * Keeps an instance's availability model up to date from Kafka: rebuilt from
 * the log at start, then fed by the bus in a group of this instance's own (every
 * replica holds the whole model), instead of polling the log.
 */
export async function followAvailabilityOnBus(
  model: AvailabilityModel,
  options: { readonly bus: MessageBus; readonly log: EventLog; readonly group: InstanceGroup; readonly progress?: LoopProgress },
): Promise<AvailabilityOnBus> {
  const follower = new BusFollower({
    bus: options.bus,
    log: options.log,
    group: options.group,
    topics: AVAILABILITY_MODEL_TOPICS,
    types: AVAILABILITY_MODEL_TYPES,
    apply: (event) => model.applyEvent(event),
    ...(options.progress ? { progress: options.progress } : {}),
  });
  await follower.start(async () => {
    await model.catchUp();
    return model.checkpoint;
  });
  model.fedByBus();
  return { follower, writers: (log) => deliveringAppends(log, follower) };
}

/** The availability model kept current, whichever way its instance is fed. */
export interface AvailabilityFollowing {
  /** The log for this instance's writers (with a bus: their appends reach the model before the append returns). */
  writers<L extends EventLog>(log: L): L;
  /** Whether the model is being fed (readiness): its bus consumer runs; following the log, always. */
  running(): boolean;
  /** Stops feeding the model and the model itself. */
  stop(): Promise<void>;
}

/**
 * With a bus of the instance's own (each service alone, over Kafka): rebuilt from
 * the log, then fed by the bus (followAvailabilityOnBus). Without (composed in one
 * process, on the in-process bus): following the log.
 */
export async function followAvailability(
  model: AvailabilityModel,
  options: { readonly bus: MessageBus | null; readonly log: EventLog; readonly group: InstanceGroup; readonly progress?: LoopProgress },
): Promise<AvailabilityFollowing> {
  const { bus, ...rest } = options;
  if (bus) {
    const onBus = await followAvailabilityOnBus(model, { bus, ...rest });
    return {
      writers: (log) => onBus.writers(log),
      running: () => onBus.follower.running(),
      stop: async () => {
        await onBus.follower.stop();
        await model.stop();
      },
    };
  }
  await model.catchUp();
  model.follow(options.progress);
  return { writers: (log) => log, running: () => true, stop: () => model.stop() };
}
