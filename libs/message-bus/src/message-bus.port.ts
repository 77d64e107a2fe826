/** A message to publish. The key decides the partition: every message of one key stays in order. */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: Buffer | string | null;
  readonly headers?: Readonly<Record<string, string>>;
}

export interface IncomingMessage {
  readonly topic: string;
  readonly partition: number;
  /** Kafka offsets are 64-bit; kept as a decimal string. */
  readonly offset: string;
  readonly key: string | null;
  readonly value: Buffer | null;
  readonly headers: Readonly<Record<string, string>>;
  /** Milliseconds since the epoch, as a decimal string. */
  readonly timestamp: string;
}

export interface DeliveryContext {
  /** 1 on the first try. */
  readonly attempt: number;
  /** Tells the group that this consumer is alive; called for you while a handler runs. */
  heartbeat(): Promise<void>;
}

export type MessageHandler = (message: IncomingMessage, context: DeliveryContext) => Promise<void>;

export interface RetryPolicy {
  /** Tries in all, the first included, before the message goes to the dead-letter topic. */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 5, initialBackoffMs: 200, maxBackoffMs: 10_000 };

export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: MessageHandler;
  /** Where a new group starts: the oldest retained message, or only new ones. Default true. */
  readonly fromBeginning?: boolean;
  readonly retry?: Partial<RetryPolicy>;
  /** Dead-letter topic for a source topic; default `<topic>.dead-letter`. */
  readonly deadLetterTopic?: (topic: string) => string;
  /** Where each partition begins, instead of the group's committed offset (see MessageBus.endOffsets); only when the subscription starts. */
  readonly startAt?: TopicOffsets;
  /**
   * The group is this instance's own (an in-memory model needs every partition).
   * Metrics and logs name it by `label`, the group without the instance, so a
   * restart makes no new series; and a message whose retries are spent is logged
   * and skipped, not dead-lettered once by every replica.
   */
  readonly perInstance?: { readonly label: string };
}

/** A consumer group of one instance's own (it needs every partition): `<label>-<instance>`. */
export interface InstanceGroup {
  /** The group without the instance, e.g. `parley-routing-availability-model`: what metrics and logs call it. */
  readonly label: string;
  readonly instance: string;
}

/** The subscription options of an instance's own group. */
export function instanceGroup(group: InstanceGroup): Pick<SubscribeOptions, 'groupId' | 'perInstance'> {
  return { groupId: `${group.label}-${group.instance}`, perInstance: { label: group.label } };
}

/** Offsets by topic and partition (Kafka's are 64-bit: decimal strings). */
export type TopicOffsets = Readonly<Record<string, readonly { readonly partition: number; readonly offset: string }[]>>;

export interface Subscription {
  /** Stops taking messages, lets the handler in progress finish, commits, and leaves the group. */
  close(): Promise<void>;
  /** False while the consumer is down (crashed, being restarted): the process is then not ready. */
  running(): boolean;
}

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

/**
 * Events between services. Delivery is at least once: a handler may see a
 * message again after a crash or a rebalance and must be idempotent.
 * There is no request/reply here; synchronous calls go over gRPC.
 */
export interface MessageBus {
  publish(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  subscribe(options: SubscribeOptions): Promise<Subscription>;
  ensureTopics(topics: readonly TopicSpec[]): Promise<void>;
  /**
   * The current end of every partition of the topics: where a consumer would
   * begin that is to get only what is published from now on. A follower that
   * first reads the log to its head takes it before that read and subscribes
   * with it (`startAt`), so that nothing published meanwhile is missed.
   */
  endOffsets(topics: readonly string[]): Promise<TopicOffsets>;
  close(): Promise<void>;
}

export function deadLetterTopicFor(topic: string): string {
  return `${topic}.dead-letter`;
}

/** Headers the bus adds to a dead-lettered message, beside the original ones. */
export const DEAD_LETTER_HEADERS = {
  error: 'parley_dlq_error',
  errorCode: 'parley_dlq_error_code',
  attempts: 'parley_dlq_attempts',
  topic: 'parley_dlq_original_topic',
  partition: 'parley_dlq_original_partition',
  offset: 'parley_dlq_original_offset',
  groupId: 'parley_dlq_group_id',
  failedAt: 'parley_dlq_failed_at',
  /** Set when the payload was too large for the dead-letter topic: the record is a reference (topic, partition, offset) only. */
  payloadOmitted: 'parley_dlq_payload_omitted',
  payloadBytes: 'parley_dlq_payload_bytes',
} as const;
