import { createHash } from 'node:crypto';
import { createLogger, type Logger, type Registry, contextFrom, inSpan, traceHeaders, withLogFields } from '@parley/observability';
import { logFieldsOf } from '../delivery/log-fields';
import { BusMetrics } from '../delivery/bus.metrics';
import { deliverWithRetry } from '../delivery/retrying.delivery';
import {
  deadLetterTopicFor,
  type IncomingMessage,
  type MessageBus,
  type OutgoingMessage,
  type SubscribeOptions,
  type Subscription,
  type TopicOffsets,
  type TopicSpec,
} from '../message-bus.port';

interface StoredMessage {
  readonly key: string;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly timestamp: string;
}

interface Member {
  readonly id: number;
  readonly options: SubscribeOptions;
  partitions: Set<string>; // `${topic}/${partition}`
  stopping: boolean;
  readonly inFlight: Set<Promise<void>>;
}

interface Group {
  readonly members: Member[];
  /** Next offset to deliver per `${topic}/${partition}`: the committed offset. */
  readonly committed: Map<string, number>;
}

export interface InProcessBusOptions {
  readonly defaultPartitions?: number;
  readonly registry?: Registry;
  readonly logger?: Logger;
}

/**
 * The MessageBus inside one process, for the embedded mode and fast tests. It
 * keeps Kafka's semantics that the code relies on: partitions by key with order
 * per partition, consumer groups that share partitions and resume from committed
 * offsets, commit after success, retries and dead letters. It keeps messages in
 * memory only: durability in the embedded mode comes from the event log.
 */
export class InProcessBus implements MessageBus {
  private readonly topics = new Map<string, StoredMessage[][]>();
  private readonly groups = new Map<string, Group>();
  private readonly metrics: BusMetrics;
  private readonly logger: Logger;
  private readonly wakeups = new Set<() => void>();
  private nextMemberId = 1;
  private closed = false;

  constructor(private readonly options: InProcessBusOptions = {}) {
    this.metrics = new BusMetrics(options.registry);
    this.logger = options.logger ?? createLogger('message-bus');
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const partitions = this.partitionsOf(topic);
    for (const m of messages) {
      const value = m.value === null ? null : Buffer.isBuffer(m.value) ? Buffer.from(m.value) : Buffer.from(m.value, 'utf8');
      partitions[partitionFor(m.key, partitions.length)]!.push({
        key: m.key,
        value,
        headers: { ...traceHeaders(), ...m.headers },
        timestamp: String(Date.now()),
      });
    }
    this.metrics.countPublished(topic, messages.length);
    this.wakeAll();
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    for (const t of topics) this.partitionsOf(t.name, t.partitions);
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    for (const t of options.topics) this.partitionsOf(t);
    const group = this.groups.get(options.groupId) ?? { members: [], committed: new Map<string, number>() };
    this.groups.set(options.groupId, group);
    for (const [topic, offsets] of Object.entries(options.startAt ?? {}))
      for (const o of offsets) group.committed.set(`${topic}/${o.partition}`, Number(o.offset));
    const member: Member = { id: this.nextMemberId++, options, partitions: new Set(), stopping: false, inFlight: new Set() };
    await this.rebalance(group, () => group.members.push(member));
    return {
      running: () => !member.stopping && !this.closed,
      close: async () => {
        member.stopping = true;
        this.wakeAll();
        await Promise.all([...member.inFlight]);
        await this.rebalance(group, () => group.members.splice(group.members.indexOf(member), 1));
      },
    };
  }

  async endOffsets(topics: readonly string[]): Promise<TopicOffsets> {
    return Object.fromEntries(topics.map((t) => [t, this.partitionsOf(t).map((log, partition) => ({ partition, offset: String(log.length) }))]));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const group of this.groups.values()) for (const m of group.members) m.stopping = true;
    this.wakeAll();
    await Promise.all([...this.groups.values()].flatMap((g) => g.members.flatMap((m) => [...m.inFlight])));
  }

  /** Like Kafka's eager rebalance: everyone stops, partitions are dealt again, everyone resumes from committed offsets. */
  private async rebalance(group: Group, change: () => void): Promise<void> {
    for (const m of group.members) m.partitions = new Set();
    this.wakeAll();
    await Promise.all(group.members.flatMap((m) => [...m.inFlight]));
    change();
    const topics = new Set(group.members.flatMap((m) => m.options.topics));
    const all = [...topics].sort().flatMap((t) => this.partitionsOf(t).map((_, p) => `${t}/${p}`));
    all.forEach((tp, i) => {
      const candidates = group.members.filter((m) => m.options.topics.includes(tp.slice(0, tp.lastIndexOf('/'))));
      if (candidates.length > 0) candidates[i % candidates.length]!.partitions.add(tp);
    });
    for (const m of group.members) for (const tp of m.partitions) this.startPartitionLoop(group, m, tp);
  }

  private startPartitionLoop(group: Group, member: Member, tp: string): void {
    const cut = tp.lastIndexOf('/');
    const topic = tp.slice(0, cut);
    const partition = Number(tp.slice(cut + 1));
    const log = this.partitionsOf(topic)[partition]!;
    if (!group.committed.has(tp)) group.committed.set(tp, member.options.fromBeginning === false ? log.length : 0);
    const owns = () => !member.stopping && !this.closed && member.partitions.has(tp);
    const loop = (async () => {
      while (owns()) {
        const offset = group.committed.get(tp)!;
        const stored = log[offset];
        if (!stored) {
          await new Promise<void>((resolve) => {
            const wake = () => {
              this.wakeups.delete(wake);
              resolve();
            };
            this.wakeups.add(wake);
          });
          continue;
        }
        const message: IncomingMessage = { topic, partition, offset: String(offset), ...stored };
        const started = process.hrtime.bigint();
        const deadLetterTopic = member.options.deadLetterTopic ?? deadLetterTopicFor;
        const label = member.options.perInstance?.label ?? member.options.groupId;
        try {
          const outcome = await inSpan(`${topic} process`, 'consumer', contextFrom(message.headers), () =>
            withLogFields(logFieldsOf(message), () =>
              deliverWithRetry({
                message,
                handler: member.options.handler,
                ...(member.options.retry ? { retry: member.options.retry } : {}),
                groupId: member.options.groupId,
                heartbeat: async () => undefined,
                heartbeatEveryMs: 60_000,
                ...(member.options.perInstance ? {} : { deadLetter: (dead: OutgoingMessage) => this.publish(deadLetterTopic(topic), [dead]) }),
                isStopping: () => !owns(),
                onFailure: (error) => {
                  this.metrics.countFailure(topic, label);
                  this.logger.warn({ topic, partition, offset, err: (error as Error)?.name }, 'handler failed');
                },
              }),
            ),
          );
          if (outcome.status === 'dead-lettered') this.metrics.countDeadLetter(topic, label);
          if (outcome.status === 'skipped') {
            this.metrics.countSkipped(topic, label);
            this.logger.error({ topic, partition, offset, group: label, attempts: outcome.attempts }, 'message skipped');
          }
        } catch {
          continue; // stopped mid-retry: not committed, the next owner takes it again
        }
        this.metrics.observeHandled(topic, label, Number(process.hrtime.bigint() - started) / 1e9);
        group.committed.set(tp, offset + 1);
      }
    })();
    member.inFlight.add(loop);
    void loop.finally(() => member.inFlight.delete(loop));
  }

  private wakeAll(): void {
    for (const wake of [...this.wakeups]) wake();
  }

  private partitionsOf(topic: string, count?: number): StoredMessage[][] {
    let partitions = this.topics.get(topic);
    if (!partitions) {
      partitions = Array.from({ length: count ?? this.options.defaultPartitions ?? 3 }, () => []);
      this.topics.set(topic, partitions);
    }
    return partitions;
  }
}

function partitionFor(key: string, partitions: number): number {
  return createHash('md5').update(key).digest().readUInt32BE(0) % partitions;
}
