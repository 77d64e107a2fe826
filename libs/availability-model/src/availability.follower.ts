import { eventsTopic } from '@parley/contracts';
import type { EventLog } from '@parley/event-log';
import type { BusConsumer, InstanceGroup, MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';
import { BusFollower, deliveringAppends } from '@parley/read-model';
import { AVAILABILITY_MODEL_TYPES, type AvailabilityModel } from './availability.model';

/** The events topics that carry the model's types: agents, queues, targeting rules, visitors' invitations, conversations. */
export const AVAILABILITY_MODEL_TOPICS: readonly string[] = (['agent', 'queue', 'targeting', 'visitor', 'conversation'] as const).map(eventsTopic);

/** The availability model kept current, whichever way its instance is fed. */
export interface AvailabilityFollowing {
  /** With a bus: the consumer that feeds the model; its transport rebuilds the model from the log when it starts. */
  readonly consumer: BusConsumer | null;
  /** The log for this instance's writers (with a bus: their appends reach the model before the append returns). */
  writers<L extends EventLog>(log: L): L;
  /** Whether the model is being fed (readiness): its bus consumer runs; following the log, always. */
  running(): boolean;
  /** Stops following the log (the bus consumer stops with its application), then the model. */
  stop(): Promise<void>;
}

/**
 * With a bus of the instance's own (each service alone, over Kafka): fed by the
 * bus in a group of this instance's own (every replica holds the whole model),
 * rebuilt from the log when its consumer starts, then carried on from the end of
 * the topics taken before the rebuild. Without (composed in one process, on the
 * in-process bus): rebuilt now and following the log.
 */
export async function followAvailability(
  model: AvailabilityModel,
  options: { readonly bus: MessageBus | null; readonly log: EventLog; readonly group: InstanceGroup; readonly progress?: LoopProgress },
): Promise<AvailabilityFollowing> {
  const { bus, log, group, progress } = options;
  if (bus) {
    const follower = new BusFollower({
      bus,
      log,
      group,
      topics: AVAILABILITY_MODEL_TOPICS,
      types: AVAILABILITY_MODEL_TYPES,
      apply: (event) => model.applyEvent(event),
      ...(progress ? { progress } : {}),
    });
    const consumer = follower.consumer(async () => {
      await model.catchUp();
      model.fedByBus();
      return model.checkpoint;
    });
    return { consumer, writers: (l) => deliveringAppends(l, follower), running: () => follower.running(), stop: () => model.stop() };
  }
  await model.catchUp();
  model.follow(progress);
  return { consumer: null, writers: (l) => l, running: () => true, stop: () => model.stop() };
}
