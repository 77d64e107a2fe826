import { randomUUID } from 'node:crypto';
import { INGRESS_TOPICS, InboundAccepted, identityKey } from '@parley/contracts';
import { ParleyError } from '@parley/errors';
import type { IncomingMessage, MessageBus } from '@parley/message-bus';
import type { InboundEvent } from './inbound.event';
import type { InboundRecorder } from './inbound.recorder';

/** Where a webhook's events go before it is answered 200: once they are durable there, nothing is lost. */
export interface InboundIntake {
  accept(events: readonly InboundEvent[]): Promise<void>;
}

const customerKey = (e: InboundEvent) => `${e.tenantId}:${identityKey(e.identity)}`;

/** Recorded in the log before the answer (a lone ingress, npm start): one customer's events in order, different customers at once. */
export class RecordingIntake implements InboundIntake {
  constructor(private readonly recorder: InboundRecorder) {}

  async accept(events: readonly InboundEvent[]): Promise<void> {
    const byCustomer = new Map<string, InboundEvent[]>();
    for (const e of events) byCustomer.set(customerKey(e), [...(byCustomer.get(customerKey(e)) ?? []), e]);
    await Promise.all(
      [...byCustomer.values()].map(async (list) => {
        for (const e of list) await this.recorder.record(e);
      }),
    );
  }
}

/**
 * On Kafka before the answer (ingress replicas over Kafka): the webhook is answered
 * as soon as the broker has its events, whatever the log's load, and the replica that
 * owns the customer's partition records them (`InboundTopicController`). Keyed by
 * customer, so one customer's events are recorded in the order they were accepted.
 */
export class KafkaIntake implements InboundIntake {
  constructor(private readonly bus: MessageBus) {}

  async accept(events: readonly InboundEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.bus.publish(
      INGRESS_TOPICS.inbound,
      events.map((e) => ({
        key: customerKey(e),
        value: JSON.stringify(e),
        headers: {
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_source: `/parley/tenants/${encodeURIComponent(e.tenantId)}`,
          ce_type: InboundAccepted.type,
          ce_time: e.at,
          ce_schemaversion: String(InboundAccepted.version),
          ce_tenantid: e.tenantId,
        },
      })),
    );
  }
}

/** A record on the ingress's topic that is not an accepted event of a known version: set aside at once, with the reason. */
export class MalformedInboundRecordError extends ParleyError {
  readonly code = 'INBOUND_RECORD_MALFORMED';
  readonly category = 'invalid_argument' as const;
  readonly retryable = false;
}

/** Reads an accepted event back from its record, checked against its schema. */
export function inboundFromRecord(message: IncomingMessage): InboundEvent {
  if (message.headers['ce_type'] !== InboundAccepted.type || message.headers['ce_schemaversion'] !== String(InboundAccepted.version))
    throw new MalformedInboundRecordError(`expected ${InboundAccepted.type} version ${InboundAccepted.version}`);
  let data: unknown;
  try {
    data = JSON.parse(message.value?.toString('utf8') ?? 'null');
  } catch {
    throw new MalformedInboundRecordError('the value is not JSON');
  }
  const parsed = InboundAccepted.schema.safeParse(data);
  if (!parsed.success)
    throw new MalformedInboundRecordError(
      parsed.error.issues
        .map((i) => `${i.path.join('.')}: ${i.message}`)
        .join('; ')
        .slice(0, 500),
    );
  return parsed.data as InboundEvent;
}
