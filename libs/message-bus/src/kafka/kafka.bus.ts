import { Kafka, logLevel, type Consumer, type EachMessagePayload, type IHeaders, type Producer, type KafkaConfig } from 'kafkajs';
import { contextFrom, createLogger, inSpan, traceHeaders, withLogFields, type Logger, type Registry } from '@parley/observability';
import { BusMetrics } from '../delivery/bus.metrics';
import { logFieldsOf } from '../delivery/log-fields';
import { KafkaConsumerLag } from './kafka.consumer-lag';
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

export interface KafkaBusOptions {
  readonly brokers: readonly string[];
  readonly clientId?: string;
  readonly registry?: Registry;
  readonly logger?: Logger;
  /** Broker minimum is 6 s by default; a handler may take far longer, it heartbeats meanwhile. */
  readonly sessionTimeoutMs?: number;
  readonly heartbeatIntervalMs?: number;
  /** Partitions of one consumer handled at once; order within a partition is always kept. */
  readonly partitionsConsumedConcurrently?: number;
  readonly defaultPartitions?: number;
  readonly ssl?: KafkaConfig['ssl'];
  readonly sasl?: KafkaConfig['sasl'];
  /**
   * Put in front of every topic and consumer group name on the cluster (e.g.
   * `staging.`), so that several deployments share one Kafka cluster without
   * taking each other's work. The application, its metrics and its dead-letter
   * headers keep the names without it. Default none.
   */
  readonly namespace?: string;
}

/**
 * The MessageBus on Apache Kafka (kafkajs). Publishing is idempotent with acks
 * from all in-sync replicas; consuming commits an offset only after its handler
 * succeeded or its message reached the dead-letter topic.
 */
export class KafkaBus implements MessageBus {
  private readonly kafka: Kafka;
  private readonly producer: Producer;
  private producerReady: Promise<void> | null = null;
  private readonly consumers = new Set<Consumer>();
  private readonly metrics: BusMetrics;
  private readonly lag: KafkaConsumerLag;
  private readonly logger: Logger;
  private readonly namespace: string;

  constructor(private readonly options: KafkaBusOptions) {
    this.namespace = options.namespace ?? '';
    this.logger = options.logger ?? createLogger('message-bus');
    const logger = this.logger;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'parley',
      brokers: [...options.brokers],
      ...(options.ssl ? { ssl: options.ssl } : {}),
      ...(options.sasl ? { sasl: options.sasl } : {}),
      logLevel: logLevel.WARN,
      logCreator: () => (entry) => {
        const { message, ...rest } = entry.log;
        // kafkajs reports retriable protocol answers (rebalancing, coordinator loading) as errors; it retries them itself.
        const level = entry.level <= logLevel.WARN ? 'warn' : 'debug';
        logger[level]({ kafka: rest, namespace: entry.namespace }, message);
      },
    });
    this.producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    this.metrics = new BusMetrics(options.registry);
    this.lag = new KafkaConsumerLag(this.kafka, this.logger, options.registry, undefined, this.namespace);
  }

  async publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    await this.connectProducer();
    await this.producer.send({
      topic: this.namespace + topic,
      acks: -1,
      messages: messages.map((m) => ({ key: m.key, value: m.value, headers: { ...traceHeaders(), ...m.headers } })),
    });
    this.metrics.countPublished(topic, messages.length);
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<void> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const existing = new Set(await admin.listTopics());
      const missing = topics.map((t) => ({ ...t, name: this.namespace + t.name })).filter((t) => !existing.has(t.name));
      if (missing.length > 0) {
        await admin.createTopics({ waitForLeaders: false, topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })) });
        await this.untilLeaders(
          admin,
          missing.map((t) => t.name),
        );
      }
    } finally {
      await admin.disconnect();
    }
  }

  /**
   * Until every partition of new topics has a leader. kafkajs's own wait retries
   * only LEADER_NOT_AVAILABLE, but a KRaft broker answers UNKNOWN_TOPIC_OR_PARTITION
   * for a moment after the creation (kafkajs issue #815): both mean "not yet".
   */
  private async untilLeaders(admin: ReturnType<Kafka['admin']>, topics: readonly string[], timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const { topics: found } = await admin.fetchTopicMetadata({ topics: [...topics] });
        if (found.length === topics.length && found.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
      } catch (error) {
        const type = (error as { type?: string }).type;
        if (type !== 'UNKNOWN_TOPIC_OR_PARTITION' && type !== 'LEADER_NOT_AVAILABLE') throw error;
      }
      if (Date.now() > deadline) throw new Error(`topics without leaders after ${timeoutMs} ms: ${topics.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    const deadLetterTopic = options.deadLetterTopic ?? deadLetterTopicFor;
    await this.ensureTopics(
      options.topics.flatMap((t) => [
        { name: t, partitions: this.options.defaultPartitions ?? 3 },
        { name: deadLetterTopic(t), partitions: 1 },
      ]),
    );
    // What metrics and logs call the group: a group of one instance's own by its label.
    const group = options.perInstance?.label ?? options.groupId;
    let stopping = false;
    let consumer: Consumer | null = null;
    let restarts = 0;
    let restartTimer: NodeJS.Timeout | null = null;
    const eachMessage = async ({ topic: named, partition, message, heartbeat }: EachMessagePayload) => {
      const topic = named.slice(this.namespace.length);
      const incoming: IncomingMessage = {
        topic,
        partition,
        offset: message.offset,
        key: message.key ? message.key.toString('utf8') : null,
        value: message.value,
        headers: decodeHeaders(message.headers),
        timestamp: message.timestamp,
      };
      const started = process.hrtime.bigint();
      const outcome = await inSpan(`${topic} process`, 'consumer', contextFrom(incoming.headers), () =>
        withLogFields(logFieldsOf(incoming), () =>
          deliverWithRetry({
            message: incoming,
            handler: options.handler,
            ...(options.retry ? { retry: options.retry } : {}),
            groupId: options.groupId,
            heartbeat,
            heartbeatEveryMs: this.options.heartbeatIntervalMs ?? 1_000,
            ...(options.perInstance ? {} : { deadLetter: (dead: OutgoingMessage) => this.publish(deadLetterTopic(topic), [dead]) }),
            isStopping: () => stopping,
            onFailure: (error, attempt) => {
              this.metrics.countFailure(topic, group);
              this.logger.warn({ topic, partition, offset: message.offset, attempt, err: errorSummary(error) }, 'handler failed');
            },
          }),
        ),
      );
      if (outcome.status === 'dead-lettered') {
        this.metrics.countDeadLetter(topic, group);
        this.logger.error({ topic, partition, offset: message.offset, attempts: outcome.attempts }, 'message dead-lettered');
      }
      if (outcome.status === 'skipped') {
        this.metrics.countSkipped(topic, group);
        this.logger.error({ topic, partition, offset: message.offset, group, attempts: outcome.attempts }, 'message skipped');
      }
      this.metrics.observeHandled(topic, group, Number(process.hrtime.bigint() - started) / 1e9);
    };
    // Only the first join seeks; a consumer made anew after a crash resumes from the commits.
    let pendingStart: TopicOffsets | null = options.startAt ?? null;
    const start = async (): Promise<void> => {
      const c = this.kafka.consumer({
        groupId: this.namespace + options.groupId,
        sessionTimeout: this.options.sessionTimeoutMs ?? 10_000,
        heartbeatInterval: this.options.heartbeatIntervalMs ?? 1_000,
        allowAutoTopicCreation: false,
        retry: { retries: 10 },
        // A fetch waits this long for messages: leaving the group (a graceful stop) waits for it too.
        maxWaitTimeInMs: 1000,
      });
      consumer = c;
      this.lag.watch(c, this.namespace + options.groupId, group);
      this.consumers.add(c);
      // kafkajs restarts a consumer itself after retriable errors only; after any other
      // crash this one is made anew, backing off, and the process is not ready meanwhile.
      c.on(c.events.CRASH, (event) => {
        if (event.payload.restart || stopping) return;
        this.metrics.countCrash(group);
        this.logger.error({ group, err: errorSummary(event.payload.error) }, 'consumer crashed; making it anew');
        void restart(c);
      });
      // Seeks are applied when the group is first joined, before any fetch: after a failed
      // first join kafkajs makes its group anew, and a seek made after run() would be lost or refused.
      c.on(c.events.GROUP_JOIN, () => {
        if (!pendingStart) return;
        for (const [topic, offsets] of Object.entries(pendingStart))
          for (const o of offsets) c.seek({ topic: this.namespace + topic, partition: o.partition, offset: o.offset });
        pendingStart = null;
      });
      await c.connect();
      await c.subscribe({ topics: options.topics.map((t) => this.namespace + t), fromBeginning: options.fromBeginning ?? true });
      await c.run({
        autoCommit: true,
        autoCommitInterval: 1000,
        partitionsConsumedConcurrently: this.options.partitionsConsumedConcurrently ?? 1,
        eachMessage,
      });
      restarts = 0;
    };
    const restart = async (crashed: Consumer): Promise<void> => {
      if (consumer !== crashed) return;
      consumer = null;
      this.consumers.delete(crashed);
      this.lag.forget(crashed);
      await crashed.disconnect().catch(() => undefined);
      const delay = Math.min(30_000, 1_000 * 2 ** restarts++);
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (stopping) return;
        start().catch((error: unknown) => {
          this.logger.error({ group, err: errorSummary(error) }, 'consumer could not be started; trying again');
          if (consumer) void restart(consumer);
        });
      }, delay);
    };
    await start();
    return {
      running: () => consumer !== null && !stopping,
      close: async () => {
        stopping = true;
        if (restartTimer) clearTimeout(restartTimer);
        // disconnect() stops fetching, waits for the handler in progress, commits
        // the resolved offsets and leaves the group.
        if (consumer) {
          await consumer.disconnect();
          this.consumers.delete(consumer);
          this.lag.forget(consumer);
        }
        consumer = null;
      },
    };
  }

  async endOffsets(topics: readonly string[]): Promise<TopicOffsets> {
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      const ends: Record<string, { partition: number; offset: string }[]> = {};
      for (const topic of topics)
        ends[topic] = (await retriable(() => admin.fetchTopicOffsets(this.namespace + topic))).map((e) => ({ partition: e.partition, offset: e.high }));
      return ends;
    } finally {
      await admin.disconnect();
    }
  }

  /** Raw access for tests and tools that need group or offset details. */
  admin() {
    return this.kafka.admin();
  }

  /** Instrumentation of a subscription's consumer is not exposed; tests use this to watch group joins. */
  kafkaClient(): Kafka {
    return this.kafka;
  }

  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.disconnect()));
    this.consumers.clear();
    await this.lag.close();
    if (this.producerReady) await this.producer.disconnect();
    this.producerReady = null;
  }

  private connectProducer(): Promise<void> {
    this.producerReady ??= this.producer.connect().catch((error: unknown) => {
      this.producerReady = null;
      throw error;
    });
    return this.producerReady;
  }
}

/** Retries what Kafka answers with a retriable error (a new topic's leaders not elected yet), for up to about 30 s. */
async function retriable<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error as { retriable?: boolean }).retriable || tries >= 30) throw error;
      await new Promise((r) => setTimeout(r, Math.min(100 * tries, 1000)));
    }
  }
}

function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[k] = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  }
  return out;
}

function errorSummary(error: unknown): { name: string; code?: unknown } {
  return error instanceof Error ? { name: error.name, code: (error as { code?: unknown }).code } : { name: typeof error };
}
