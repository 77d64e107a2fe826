import { randomUUID } from 'node:crypto';
import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { ChannelMessageReceived, ChannelReceipt, CHANNEL_TOPICS } from '@parley/contracts';
import { ParleyError, describeIssues } from '@parley/errors';
import { BUS_TRANSPORT, BusTransport, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import type { Logger, LoopProgress } from '@parley/observability';
import type { InboundRecorder } from '../inbound/inbound.recorder';

/** A channel message that breaks its schema: never retried, sent to the dead letters with the reason. */
export class MalformedChannelMessageError extends ParleyError {
  readonly code = 'CHANNEL_MESSAGE_MALFORMED';
  readonly category = 'invalid_argument' as const;
  readonly retryable = false;
}

export const CHANNEL_GROUP = 'parley-ingress-channels';
export const CHANNEL_RECORDER = Symbol('CHANNEL_RECORDER');
export const CHANNEL_LOGGER = Symbol('CHANNEL_LOGGER');

/** The channel topics, made if missing: what integrations write to, and what Parley sends them. */
export async function ensureChannelTopics(bus: MessageBus): Promise<void> {
  await bus.ensureTopics([
    { name: CHANNEL_TOPICS.inbound, partitions: 12 },
    { name: `${CHANNEL_TOPICS.inbound}.dead-letter`, partitions: 1 },
    ...(['sms', 'email', 'custom'] as const).map((c) => ({ name: CHANNEL_TOPICS.outbound(c), partitions: 12 })),
  ]);
}

/** The bus transport that serves this controller: the ingress replicas share the topic's partitions. */
export function channelTopicsTransport(bus: MessageBus, progress?: LoopProgress): BusTransport {
  return new BusTransport({ bus, groupId: CHANNEL_GROUP, retry: { maxAttempts: 5 }, decode: (message) => message, ...(progress ? { progress } : {}) });
}

/**
 * Other channels plug in over Kafka: an integration publishes what its
 * customers write (and receipts) on `parley.channel.inbound` as CloudEvents,
 * and Parley records them exactly as it records a webhook. A handler's error
 * reaches the bus: retried, then dead-lettered with the reason.
 */
@Controller()
export class ChannelTopicsController {
  constructor(
    @Inject(CHANNEL_RECORDER) private readonly recorder: InboundRecorder,
    @Inject(CHANNEL_LOGGER) private readonly logger: Logger,
  ) {}

  @EventPattern(CHANNEL_TOPICS.inbound, BUS_TRANSPORT)
  async inbound(@Payload() message: IncomingMessage): Promise<void> {
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
      if (!parsed.success) throw new MalformedChannelMessageError(`${type}: ${describeIssues(parsed.error.issues)}`.slice(0, 500));
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
      if (!parsed.success) throw new MalformedChannelMessageError(`${type}: ${describeIssues(parsed.error.issues)}`.slice(0, 500));
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
