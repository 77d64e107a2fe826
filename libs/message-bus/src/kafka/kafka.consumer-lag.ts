import type { Admin, Consumer, Kafka } from 'kafkajs';
import { gauge, defaultRegistry, type Logger, type Registry } from '@parley/observability';

interface Member {
  readonly groupId: string;
  /** What the gauge calls the group. */
  readonly label: string;
  /** The partitions this instance owns, by topic, from its last group join. */
  assignment: Record<string, number[]>;
}

/**
 * `parley_bus_consumer_lag_messages{group,topic}`: messages not yet committed by
 * this instance's consumers, over the partitions each one owns. Each partition
 * has one owner in its group, so summing over instances gives the group's lag
 * without counting a partition twice. Read from the brokers at scrape time (not
 * from the consumer's own fetches), so a consumer stuck in a handler still shows
 * its lag growing.
 */
export class KafkaConsumerLag {
  private readonly members = new Map<Consumer, Member>();
  private admin: Promise<Admin> | null = null;
  private last: { at: number; values: Map<string, number> } | null = null;
  /** Every (group, topic) whose lag was once read: shown as unknown when it cannot be read now. */
  private readonly known = new Set<string>();
  private readonly sources: Set<KafkaConsumerLag>;

  constructor(
    private readonly kafka: Kafka,
    private readonly logger: Logger,
    registry: Registry = defaultRegistry(),
    private readonly cacheMs = 2_000,
    /** Taken off group and topic names in the labels (see KafkaBusOptions.namespace). */
    private readonly namespace = '',
  ) {
    // One gauge per registry, fed by every bus of the process (npm start runs several).
    const holder = registry as unknown as { [COLLECTORS]?: Set<KafkaConsumerLag> };
    const set = (holder[COLLECTORS] ??= new Set());
    set.add(this);
    this.sources = set;
    gauge(registry, {
      name: 'parley_bus_consumer_lag_messages',
      help: 'Messages behind the head of the partitions this instance consumes, by consumer group and topic (sum over instances for a group).',
      labelNames: ['group', 'topic'] as const,
      async collect() {
        this.reset();
        const sums = new Map<string, number>();
        for (const source of set) for (const [key, value] of await source.read()) sums.set(key, (sums.get(key) ?? 0) + value);
        for (const [key, value] of sums) {
          const [group, topic] = key.split('\u0000') as [string, string];
          this.set({ group, topic }, value);
        }
      },
    });
  }

  /** `label`: what the gauge calls the group (a group of one instance's own, without the instance). */
  watch(consumer: Consumer, groupId: string, label: string): void {
    const member: Member = { groupId, label, assignment: {} };
    this.members.set(consumer, member);
    consumer.on(consumer.events.GROUP_JOIN, (event) => {
      member.assignment = event.payload.memberAssignment;
      this.last = null;
    });
  }

  forget(consumer: Consumer): void {
    this.members.delete(consumer);
    this.last = null;
  }

  async close(): Promise<void> {
    this.sources.delete(this);
    const admin = this.admin;
    this.admin = null;
    if (admin) await (await admin.catch(() => null))?.disconnect();
  }

  private async read(): Promise<Map<string, number>> {
    if (this.last && Date.now() - this.last.at < this.cacheMs) return this.last.values;
    const values = new Map<string, number>();
    if (this.members.size === 0) return values;
    try {
      const admin = await this.connect();
      const heads = new Map<string, Map<number, { low: number; high: number }>>();
      for (const member of this.members.values()) {
        const topics = Object.keys(member.assignment);
        if (topics.length === 0) continue;
        const committed = await admin.fetchOffsets({ groupId: member.groupId, topics });
        for (const { topic, partitions } of committed) {
          if (!heads.has(topic))
            heads.set(topic, new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, { low: Number(p.low), high: Number(p.high) }])));
          const head = heads.get(topic)!;
          let sum = 0;
          for (const p of partitions) {
            if (!member.assignment[topic]?.includes(p.partition)) continue;
            const offsets = head.get(p.partition);
            if (!offsets) continue;
            // No commit yet: everything still on the partition is to be read.
            const from = Number(p.offset) < 0 ? offsets.low : Number(p.offset);
            sum += Math.max(0, offsets.high - from);
          }
          const key = `${member.label}\u0000${topic.slice(this.namespace.length)}`;
          values.set(key, (values.get(key) ?? 0) + sum);
        }
      }
      this.last = { at: Date.now(), values };
      for (const key of values.keys()) this.known.add(key);
    } catch (error) {
      // A scrape must not fail because a broker is away; the lag is then unknown (NaN), never zero.
      this.logger.warn({ err: (error as Error)?.name }, 'consumer lag not read');
      this.admin = null;
      const unknown = new Map<string, number>();
      for (const key of this.known) unknown.set(key, Number.NaN);
      for (const member of this.members.values())
        for (const topic of Object.keys(member.assignment)) unknown.set(`${member.label}\u0000${topic.slice(this.namespace.length)}`, Number.NaN);
      this.last = null;
      return unknown;
    }
    return values;
  }

  private connect(): Promise<Admin> {
    this.admin ??= (async () => {
      const admin = this.kafka.admin();
      await admin.connect();
      return admin;
    })();
    return this.admin;
  }
}

const COLLECTORS = Symbol.for('parley.kafka-consumer-lag');
