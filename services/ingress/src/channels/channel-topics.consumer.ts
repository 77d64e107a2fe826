import { randomUUID } from 'node:crypto';
import { ChannelMessageReceived, ChannelReceipt, CHANNEL_TOPICS } from '@parley/contracts';
import { ParleyError } from '@parley/errors';
import type { IncomingMessage, MessageBus, Subscription } from '@parley/message-bus';
import type { Logger } from '@parley/observability';
import type { InboundRecorder } from '../inbound/inbound.recorder';

/** A channel message that breaks its schema: never retried, sent to the dead letters with the reason. */
export class MalformedChannelMessageError extends ParleyError {
  readonly code = 'CHANNEL_MESSAGE_MALFORMED';
  readonly category = 'invalid_argument' as const;
  readonly retryable = false;
}

export const CHANNEL_GROUP = 'parley-ingress-channels';

/**
 * Other channels plug in over Kafka: an integration publishes what its
 * customers write (and receipts) on `parley.channel.inbound` as CloudEvents,
 * and Parley records them exactly as it records a webhook.
 */
export class ChannelTopicsConsumer {
  private subscription: Subscription | null = null;

  constructor(
    private readonly bus: MessageBus,
    private readonly recorder: InboundRecorder,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.bus.ensureTopics([
      { name: CHANNEL_TOPICS.inbound, partitions: 12 },
      { name: `${CHANNEL_TOPICS.inbound}.dead-letter`, partitions: 1 },
      ...(['sms', 'email', 'custom'] as const).map((c) => ({ name: CHANNEL_TOPICS.outbound(c), partitions: 12 })),
    ]);
    this.subscription = await this.bus.subscribe({
      groupId: CHANNEL_GROUP,
      topics: [CHANNEL_TOPICS.inbound],
      handler: (m) => this.handle(m),
      retry: { maxAttempts: 5 },
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.close();
  }

  /** Whether the consumer takes messages now (readiness). */
  running(): boolean {
    return this.subscription?.running() ?? false;
  }

  private async handle(message: IncomingMessage): Promise<void> {
    const type = message.headers['ce_type'];
    // CloudEvents binary mode, version 1.0 only: another version's attributes may mean something else.
    if (message.headers['ce_specversion'] !== '1.0')
      throw new MalformedChannelMessageError(`ce_specversion must be 1.0, not ${JSON.stringify(message.headers['ce_specversion'] ?? null).slice(0, 20)}`);
    let data: unknown;
    try {
      data = JSON.parse(message.value?.toString('utf8') ?? 'null');
    } catch {
      throw new MalformedChannelMessageError('the value is not JSON');
    }
    if (type === ChannelMessageReceived.type) {
      const parsed = ChannelMessageReceived.schema.safeParse(data);
      if (!parsed.success)
        throw new MalformedChannelMessageError(`${type}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(0, 500));
      const d = parsed.data;
      if (!d.text && d.attachments.length === 0) throw new MalformedChannelMessageError(`${type}: a message needs text or an attachment`);
      await this.recorder.record({
        kind: 'message',
        tenantId: d.tenantId,
        channel: d.channel,
        identity: d.identity,
        channelMessageId: d.channelMessageId,
        ...(d.text ? { text: d.text } : {}),
        attachments: d.attachments,
        at: d.at,
      });
      return;
    }
    if (type === ChannelReceipt.type) {
      const parsed = ChannelReceipt.schema.safeParse(data);
      if (!parsed.success)
        throw new MalformedChannelMessageError(`${type}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`.slice(0, 500));
      const d = parsed.data;
      await this.recorder.record({
        kind: 'receipt',
        tenantId: d.tenantId,
        channel: d.channel,
        identity: d.identity,
        status: d.status,
        messageId: d.messageId,
        ...(d.error ? { error: d.error } : {}),
        at: d.at,
      });
      return;
    }
    this.logger.warn({ type: type ?? '(none)', id: message.headers['ce_id'] ?? randomUUID() }, 'unknown channel message type');
    throw new MalformedChannelMessageError(`unknown ce_type ${type ?? '(none)'}`);
  }
}
