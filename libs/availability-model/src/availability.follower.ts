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
