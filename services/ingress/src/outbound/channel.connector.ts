import type { Attachment, Channel, Identity, Template } from '@parley/contracts';

export interface OutboundReply {
  readonly tenantId: string;
  readonly conversationId: string;
  /** Our message id: sent along where the channel allows, so its statuses find the message. */
  readonly messageId: string;
  readonly recipient: Identity;
  readonly text?: string;
  readonly attachments: readonly Attachment[];
  readonly template?: Template;
  readonly tag?: 'HUMAN_AGENT';
}

/** One per channel: delivers a reply through the channel's own API. */
export interface ChannelConnector {
  readonly channel: Channel;
  /** The rate-limit key of the sending account (a business number, a page). */
  accountOf(tenantId: string): string | undefined;
  send(reply: OutboundReply): Promise<{ channelMessageId: string }>;
}
