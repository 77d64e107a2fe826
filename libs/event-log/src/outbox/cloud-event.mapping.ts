import { CloudEvent } from 'cloudevents';
import { z } from 'zod';
import { InvalidArgumentError, fieldViolations } from '@parley/errors';
import type { IncomingMessage, OutgoingMessage } from '@parley/message-bus';
import type { RecordedEvent } from '../event-envelope';

/**
 * Events travel on Kafka as CloudEvents 1.0 in the Kafka protocol binding's
 * binary mode: attributes in `ce_*` headers, the event's data as the JSON value,
 * the stream id as the message key (so a stream stays on one partition, in order).
 *
 * Parley's envelope fields that CloudEvents has no attribute for are extensions
 * (lower-case letters and digits only, as the spec requires):
 * streamversion, schemaversion, tenantid, correlationid, causationid, recordedat,
 * position, and metadata (JSON text).
 */
export const CE_HEADERS = {
  specversion: 'ce_specversion',
  id: 'ce_id',
  source: 'ce_source',
  type: 'ce_type',
  subject: 'ce_subject',
  time: 'ce_time',
  streamversion: 'ce_streamversion',
  schemaversion: 'ce_schemaversion',
  tenantid: 'ce_tenantid',
  correlationid: 'ce_correlationid',
  causationid: 'ce_causationid',
  recordedat: 'ce_recordedat',
  position: 'ce_position',
  metadata: 'ce_metadata',
} as const;

export function sourceFor(tenantId: string): string {
  return `/parley/tenants/${encodeURIComponent(tenantId)}`;
}

export function toCloudEventMessage(event: RecordedEvent): OutgoingMessage {
  // Building the SDK's CloudEvent validates the attributes against the spec.
  const ce = new CloudEvent<unknown>({
    specversion: '1.0',
    id: event.id,
    source: sourceFor(event.tenantId),
    type: event.type,
    subject: event.streamId,
    time: event.occurredAt,
    datacontenttype: 'application/json',
    streamversion: event.streamVersion,
    schemaversion: event.schemaVersion,
    tenantid: event.tenantId,
    correlationid: event.correlationId,
    ...(event.causationId ? { causationid: event.causationId } : {}),
    recordedat: event.recordedAt,
    position: event.position,
    metadata: JSON.stringify(event.metadata),
    data: event.data,
  });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  // W3C trace context, as OpenTelemetry reads it from Kafka headers: the trace the event was written in.
  for (const key of ['traceparent', 'tracestate']) if (typeof event.metadata[key] === 'string') headers[key] = event.metadata[key];
  for (const [attribute, header] of Object.entries(CE_HEADERS)) {
    const value = (ce as unknown as Record<string, unknown>)[attribute];
    if (value !== undefined && value !== null) headers[header] = String(value);
  }
  return { key: event.streamId, value: JSON.stringify(event.data), headers };
}

const intText = z.string().regex(/^\d+$/).transform(Number);
const headersSchema = z.object({
  [CE_HEADERS.specversion]: z.literal('1.0'),
  [CE_HEADERS.id]: z.string().min(1),
  [CE_HEADERS.source]: z.string().min(1),
  [CE_HEADERS.type]: z.string().min(1),
  [CE_HEADERS.subject]: z.string().min(1),
  [CE_HEADERS.time]: z.iso.datetime({ offset: true }),
  [CE_HEADERS.streamversion]: intText,
  [CE_HEADERS.schemaversion]: intText,
  [CE_HEADERS.tenantid]: z.string().min(1),
  [CE_HEADERS.correlationid]: z.string().min(1),
  [CE_HEADERS.causationid]: z.string().min(1).optional(),
  [CE_HEADERS.recordedat]: z.iso.datetime({ offset: true }),
  [CE_HEADERS.position]: intText,
  [CE_HEADERS.metadata]: z.string().optional(),
});

/** Reads an event back from the bus; a message that is not one throws InvalidArgumentError (a poison record). */
export function fromCloudEventMessage(message: IncomingMessage): RecordedEvent {
  const parsed = headersSchema.safeParse(message.headers);
  if (!parsed.success) {
    throw new InvalidArgumentError('not a Parley CloudEvent', fieldViolations(parsed.error.issues));
  }
  const h = parsed.data;
  let data: unknown;
  let metadata: Record<string, unknown>;
  try {
    data = message.value === null ? null : JSON.parse(message.value.toString('utf8'));
    const rawMetadata = h[CE_HEADERS.metadata];
    metadata = rawMetadata ? JSON.parse(rawMetadata) : {};
  } catch {
    throw new InvalidArgumentError('CloudEvent data is not JSON', [{ field: 'value', description: 'invalid JSON' }]);
  }
  return {
    id: h[CE_HEADERS.id],
    type: h[CE_HEADERS.type],
    schemaVersion: h[CE_HEADERS.schemaversion],
    streamId: h[CE_HEADERS.subject],
    streamVersion: h[CE_HEADERS.streamversion],
    tenantId: h[CE_HEADERS.tenantid],
    occurredAt: h[CE_HEADERS.time],
    recordedAt: h[CE_HEADERS.recordedat],
    correlationId: h[CE_HEADERS.correlationid],
    causationId: h[CE_HEADERS.causationid] ?? null,
    data,
    metadata,
    position: h[CE_HEADERS.position],
  };
}
