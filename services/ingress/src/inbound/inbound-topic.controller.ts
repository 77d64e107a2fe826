import { Controller, Inject } from '@nestjs/common';
import { EventPattern, Payload } from '@nestjs/microservices';
import { INGRESS_TOPICS } from '@parley/contracts';
import { BusTransport, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import type { LoopProgress } from '@parley/observability';
import { inboundFromRecord } from './inbound.intake';
import type { InboundRecorder } from './inbound.recorder';

export const INBOUND_TRANSPORT = Symbol('parley.ingress.inbound');
export const INBOUND_GROUP = 'parley-ingress-inbound';
export const INBOUND_RECORDER = Symbol('INBOUND_RECORDER');

/** The ingress's own topic, made if missing, with its dead letters. */
export async function ensureInboundTopic(bus: MessageBus): Promise<void> {
  await bus.ensureTopics([
    { name: INGRESS_TOPICS.inbound, partitions: 12 },
    { name: `${INGRESS_TOPICS.inbound}.dead-letter`, partitions: 1 },
  ]);
}

/**
 * The replicas share the topic's partitions. An accepted event is retried for
 * minutes (the log may be down for a while: what waits behind it waits too) before
 * it is set aside in the dead letters with the reason; one that breaks its schema, at once.
 */
export function inboundTopicTransport(bus: MessageBus, progress?: LoopProgress): BusTransport {
  return new BusTransport({
    bus,
    ...(progress ? { progress } : {}),
    transportId: INBOUND_TRANSPORT,
    groupId: INBOUND_GROUP,
    retry: { maxAttempts: 30, initialBackoffMs: 200, maxBackoffMs: 30_000 },
    decode: (message) => message,
  });
}

/** Records what a webhook accepted, on the replica that owns the customer's partition; a redelivery is dropped by the channel's message id. */
@Controller()
export class InboundTopicController {
  constructor(@Inject(INBOUND_RECORDER) private readonly recorder: InboundRecorder) {}

  @EventPattern(INGRESS_TOPICS.inbound, INBOUND_TRANSPORT)
  async accepted(@Payload() message: IncomingMessage): Promise<void> {
    await this.recorder.record(inboundFromRecord(message));
  }
}
