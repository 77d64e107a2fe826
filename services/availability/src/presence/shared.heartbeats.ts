import { busConsumer, instanceGroup, type BusConsumer, type MessageBus } from '@parley/message-bus';
import type { Logger } from '@parley/observability';

/** Agents' heartbeats, shared by every availability replica: `parley.presence.heartbeats`, keyed `<tenant>/<agent>`. */
export const HEARTBEATS_TOPIC = 'parley.presence.heartbeats';

/**
 * When each agent was last heard from, as every replica heard it. An agent's
 * desktop may send its heartbeats to any replica (the load balancer picks);
 * each replica publishes what it hears and takes in what the others heard, so
 * whichever replica sweeps lost heartbeats knows them all. Heartbeats are not
 * events: losing one only brings the next one's news later.
 */
export class SharedHeartbeats {
  private readonly last = new Map<string, number>();
  /** Hears what the other replicas heard: a group of this instance's own; none without a bus (a lone instance). */
  readonly consumer: BusConsumer | null;

  constructor(
    private readonly bus: MessageBus | null,
    /** This instance's own consumer group: every replica reads every heartbeat. */
    instance: string,
    private readonly logger: Logger,
  ) {
    this.consumer = bus
      ? busConsumer({
          name: 'parley-availability-heartbeats',
          bus,
          ...instanceGroup({ label: 'parley-availability-heartbeats', instance }),
          topics: [HEARTBEATS_TOPIC],
          // Only what is heard from now on: a new replica learns the rest within one heartbeat period.
          fromBeginning: false,
          retry: { maxAttempts: 1 },
          handle: (message) => {
            const at = Number(message.value?.toString('utf8'));
            if (message.key && Number.isFinite(at)) this.note(message.key, at);
          },
        })
      : null;
  }

  /** Makes the topic if missing; the consumer is started by its application, after this. */
  async start(): Promise<void> {
    await this.bus?.ensureTopics([{ name: HEARTBEATS_TOPIC, partitions: 12 }]);
  }

  /** Heard now, by this replica: kept and told to the others. */
  set(key: string, at: number): void {
    this.note(key, at);
    void this.bus
      ?.publish(HEARTBEATS_TOPIC, [{ key, value: String(at) }])
      .catch((error: unknown) => this.logger.warn({ err: (error as Error)?.message }, 'could not share a heartbeat; the next one will be'));
  }

  get(key: string): number | undefined {
    return this.last.get(key);
  }

  delete(key: string): void {
    this.last.delete(key);
  }

  running(): boolean {
    return this.consumer?.transport.running() ?? true;
  }

  private note(key: string, at: number): void {
    if ((this.last.get(key) ?? 0) < at) this.last.set(key, at);
  }
}
