import { z } from 'zod';
import { Attachment, Channel, Id, Instant } from './common.schemas';
import { Identity } from './customer.events';
import { contract } from './event-schema.registry';

/** Identity kinds as receipts and closes name them: the kind and id only. */
const IdentityRef = z.object({ kind: z.enum(['visitor', 'external', 'whatsapp', 'messenger', 'apple', 'email', 'sms', 'custom']), id: Id });

/**
 * What an ingress replica accepted from a channel's webhook (verified, parsed),
 * handed over Kafka to the replica that owns the customer's partition, which
 * records it in the log. Internal to the ingress: the webhook is answered once
 * this is on Kafka, and recording is idempotent by the channel's message id.
 * Key: `<tenant>:<identity kind>:<identity id>`, so one customer's events stay in order.
 */
export const InboundAccepted = contract(
  'parley.ingress.inbound-accepted',
  1,
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('message'),
      tenantId: Id,
      channel: Channel,
      identity: Identity,
      channelMessageId: Id,
      text: z.string().max(65_536).optional(),
      attachments: z.array(Attachment).max(20),
      at: Instant,
    }),
    z.object({
      kind: z.literal('receipt'),
      tenantId: Id,
      channel: Channel,
      identity: IdentityRef,
      status: z.enum(['delivered', 'read', 'failed']),
      messageId: Id.optional(),
      channelMessageId: Id.optional(),
      upTo: Instant.optional(),
      error: z.string().max(1000).optional(),
      at: Instant,
    }),
    z.object({ kind: z.literal('close'), tenantId: Id, channel: Channel, identity: IdentityRef, at: Instant }),
  ]),
  ['identity.id', 'text', 'attachments[].ref', 'attachments[].name'],
);

export const INGRESS_MESSAGES = [InboundAccepted] as const;

/** The ingress's own topic: accepted webhooks on their way to the log. */
export const INGRESS_TOPICS = { inbound: 'parley.ingress.inbound' } as const;
