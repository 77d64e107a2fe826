import { z } from 'zod';
import { Attachment, Id, Instant, Template } from './common.schemas';
import { Identity } from './customer.events';
import { contract } from './event-schema.registry';

/**
 * What channel integrations (SMS, e-mail, an in-app SDK...) exchange with Parley
 * over Kafka. Not events of Parley's log: messages at its edge, with versioned
 * schemas all the same. Described with their topics in asyncapi/parley.asyncapi.yaml.
 */
const CustomChannel = z.enum(['sms', 'email', 'custom']);

/** An integration tells Parley a customer wrote. Key: `<tenant>:<channel>:<identity id>`. */
export const ChannelMessageReceived = contract(
  'parley.channel.message-received',
  1,
  z
    .object({
      tenantId: Id,
      channel: CustomChannel,
      identity: Identity,
      /** The integration's own id of the message: a redelivery with the same id is dropped. */
      channelMessageId: Id,
      text: z.string().min(1).max(65_536).optional(),
      attachments: z.array(Attachment).max(20).default([]),
      at: Instant,
    })
    .refine((d) => d.text !== undefined || d.attachments.length > 0, { message: 'a message needs text or an attachment', path: ['text'] })
    // The same rule, stated in the published JSON Schema.
    .meta({ anyOf: [{ required: ['text'] }, { required: ['attachments'], properties: { attachments: { minItems: 1 } } }] }),
  ['identity.id', 'text', 'attachments[].ref', 'attachments[].name'],
);

/** An integration reports what became of a reply: delivered, read, or failed. */
export const ChannelReceipt = contract(
  'parley.channel.receipt',
  1,
  z.object({
    tenantId: Id,
    channel: CustomChannel,
    identity: Identity,
    status: z.enum(['delivered', 'read', 'failed']),
    /** The messageId of the parley.channel.message-send being reported on. */
    messageId: Id,
    error: z.string().max(500).optional(),
    at: Instant,
  }),
  ['identity.id'],
);

/** Parley asks an integration to deliver a reply. Topic per channel; key: the conversation id. */
export const ChannelMessageSend = contract(
  'parley.channel.message-send',
  1,
  z.object({
    tenantId: Id,
    channel: CustomChannel,
    conversationId: Id,
    /** Report receipts with this id. */
    messageId: Id,
    recipient: Identity,
    text: z.string().max(65_536).optional(),
    attachments: z.array(Attachment).max(20).default([]),
    template: Template.optional(),
    at: Instant,
  }),
  ['recipient.id', 'text', 'attachments[].ref', 'attachments[].name'],
);

export const CHANNEL_MESSAGES = [ChannelMessageReceived, ChannelReceipt, ChannelMessageSend] as const;

/** Kafka topics of channel integrations. */
export const CHANNEL_TOPICS = {
  inbound: 'parley.channel.inbound',
  outbound: (channel: z.infer<typeof CustomChannel>) => `parley.channel.outbound.${channel}`,
} as const;
