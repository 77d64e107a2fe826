import { z } from 'zod';
import { Attachment, Author, Channel, Id, Instant, PageAttributes, Template } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * The events of a conversation stream, version 1. One conversation per customer
 * and brand: live-chat sessions and messaging threads are all recorded here.
 */
export const ConversationStarted = contract('conversation.started', 1, z.object({ conversationId: Id, customerId: Id, channel: Channel, at: Instant }));

export const MessageReceived = contract(
  'conversation.message-received',
  1,
  z.object({
    messageId: Id,
    channel: Channel,
    /** The channel's own id (wamid, mid, Apple message id): duplicates are dropped by it. */
    channelMessageId: Id,
    device: z.string().max(200).optional(),
    sessionId: Id.optional(),
    text: z.string().max(65_536).optional(),
    attachments: z.array(Attachment).max(20).default([]),
    /** The channel's timestamp of the message. */
    at: Instant,
  }),
  ['text', 'attachments[].ref', 'attachments[].name'],
);

export const MessageSent = contract(
  'conversation.message-sent',
  1,
  z.object({
    messageId: Id,
    channel: Channel,
    author: Author,
    text: z.string().max(65_536).optional(),
    attachments: z.array(Attachment).max(20).default([]),
    template: Template.optional(),
    /** Messenger's message tag, e.g. HUMAN_AGENT for answers within 7 days. */
    tag: z.literal('HUMAN_AGENT').optional(),
    at: Instant,
  }),
  ['text', 'attachments[].ref', 'attachments[].name', 'template.parameters[]'],
);

export const MessageEdited = contract(
  'conversation.message-edited',
  1,
  z.object({ messageId: Id, text: z.string().max(65_536), by: z.enum(['customer', 'agent']), at: Instant }),
  ['text'],
);

export const MessageDeleted = contract('conversation.message-deleted', 1, z.object({ messageId: Id, by: z.enum(['customer', 'agent']), at: Instant }));

/** A channel took a reply and gave it its own id (WhatsApp's wamid): later statuses name only that id. */
export const MessageAccepted = contract('conversation.message-accepted', 1, z.object({ messageId: Id, channel: Channel, channelMessageId: Id, at: Instant }));

export const ReceiptStatus = z.enum(['delivered', 'read', 'failed']);
export const ReceiptRecorded = contract(
  'conversation.receipt-recorded',
  1,
  z.object({
    channel: Channel,
    status: ReceiptStatus,
    /** Who saw it: the customer (our outbound messages) or the agent (the customer's messages). */
    reader: z.enum(['customer', 'agent']),
    /** One message, or with `upTo`, every message of that direction on the channel sent until then (Messenger's watermark). */
    messageId: Id.optional(),
    upTo: Instant.optional(),
    /** The channel's timestamp of the receipt. */
    at: Instant,
    error: z.string().max(500).optional(),
  }),
);

export const TypingStarted = contract(
  'conversation.typing-started',
  1,
  z.object({ by: z.enum(['customer', 'agent']), agentId: Id.optional(), channel: Channel, at: Instant }),
);
export const TypingStopped = contract(
  'conversation.typing-stopped',
  1,
  z.object({ by: z.enum(['customer', 'agent']), agentId: Id.optional(), channel: Channel, at: Instant }),
);

export const SessionStarted = contract('conversation.session-started', 1, z.object({ sessionId: Id, device: z.string().max(200).optional(), at: Instant }));
export const SessionEnded = contract(
  'conversation.session-ended',
  1,
  z.object({ sessionId: Id, reason: z.enum(['left-page', 'timed-out', 'closed-by-agent']), at: Instant }),
);

export const MarkedPending = contract('conversation.marked-pending', 1, z.object({ by: Author, at: Instant }));
export const Snoozed = contract('conversation.snoozed', 1, z.object({ by: Author, until: Instant.optional(), at: Instant }));
export const Resolved = contract('conversation.resolved', 1, z.object({ by: Author, at: Instant }));
export const Reopened = contract('conversation.reopened', 1, z.object({ reason: z.enum(['customer-message', 'agent', 'snooze-ended']), at: Instant }));

export const Queued = contract(
  'conversation.queued',
  1,
  z.object({ queueId: Id, priority: z.number().int().min(0).max(10), reason: z.enum(['new', 'reopened', 'transferred', 'requeued']), at: Instant }),
);
export const Offered = contract('conversation.offered', 1, z.object({ offerId: Id, agentId: Id, expiresAt: Instant, at: Instant }));
export const OfferDeclined = contract(
  'conversation.offer-declined',
  1,
  z.object({ offerId: Id, agentId: Id, reason: z.enum(['declined', 'timed-out']), at: Instant }),
);
export const Assigned = contract('conversation.assigned', 1, z.object({ agentId: Id, offerId: Id.optional(), at: Instant }));
export const Transferred = contract(
  'conversation.transferred',
  1,
  z.object({
    fromAgentId: Id.optional(),
    to: z.discriminatedUnion('kind', [z.object({ kind: z.literal('agent'), agentId: Id }), z.object({ kind: z.literal('queue'), queueId: Id })]),
    mode: z.enum(['warm', 'cold']),
    at: Instant,
  }),
);
export const Unassigned = contract(
  'conversation.unassigned',
  1,
  z.object({ agentId: Id, reason: z.enum(['agent-offline', 'transferred', 'resolved', 'manual']), at: Instant }),
);
export const PrioritySet = contract('conversation.priority-set', 1, z.object({ priority: z.number().int().min(0).max(10), at: Instant }));
export const Tagged = contract('conversation.tagged', 1, z.object({ tag: z.string().min(1).max(64), at: Instant }));
export const Untagged = contract('conversation.untagged', 1, z.object({ tag: z.string().min(1).max(64), at: Instant }));
export const SatisfactionRecorded = contract(
  'conversation.satisfaction-recorded',
  1,
  z.object({ score: z.number().int().min(1).max(5), comment: z.string().max(2000).optional(), at: Instant }),
  ['comment'],
);
/**
 * The customer was asked how satisfied they are, as the conversation was resolved:
 * in the widget (web), or on WhatsApp within its 24-hour window by the message
 * `messageId` (sent as conversation.message-sent). Answered by conversation.satisfaction-recorded.
 */
export const SurveyOffered = contract('conversation.survey-offered', 1, z.object({ channel: Channel, messageId: Id.optional(), at: Instant }));
/**
 * Where the visitor chatting in the widget is, and what the brand's page says of
 * them: `attributes` as the page claims them (unverified), `verifiedAttributes`
 * as the brand signed them.
 */
export const PageContextRecorded = contract(
  'conversation.page-context-recorded',
  1,
  z.object({ url: z.url({ protocol: /^https?$/ }).max(2048), attributes: PageAttributes, verifiedAttributes: PageAttributes, at: Instant }),
  ['url', 'attributes', 'verifiedAttributes'],
);
/** An agent's private note on the conversation: for colleagues, never sent to the customer on any channel. */
export const NoteAdded = contract(
  'conversation.note-added',
  1,
  z.object({ noteId: Id, agentId: Id, text: z.string().trim().min(1).max(10_000), at: Instant }),
  ['text'],
);
export const ChannelClosed = contract('conversation.channel-closed', 1, z.object({ channel: Channel, at: Instant }));

export const CONVERSATION_EVENTS = [
  ConversationStarted,
  MessageReceived,
  MessageSent,
  MessageEdited,
  MessageDeleted,
  MessageAccepted,
  ReceiptRecorded,
  TypingStarted,
  TypingStopped,
  SessionStarted,
  SessionEnded,
  MarkedPending,
  Snoozed,
  Resolved,
  Reopened,
  Queued,
  Offered,
  OfferDeclined,
  Assigned,
  Transferred,
  Unassigned,
  PrioritySet,
  Tagged,
  Untagged,
  SatisfactionRecorded,
  NoteAdded,
  SurveyOffered,
  PageContextRecorded,
  ChannelClosed,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
/** A conversation event as the domain sees it: its type and its validated data. */
export type ConversationEvent = DataOf<(typeof CONVERSATION_EVENTS)[number]>;
