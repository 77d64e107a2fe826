import { randomUUID } from 'node:crypto';
import { CHANNEL_TOPICS, ChannelMessageSend, type Channel } from '@parley/contracts';
import type { MessageBus } from '@parley/message-bus';
import type { ChannelConnector, OutboundReply } from './channel.connector';

type CustomChannel = 'sms' | 'email' | 'custom';

/**
 * Delivers a reply by handing it to the channel's integration: a
 * parley.channel.message-send CloudEvent on `parley.channel.outbound.<channel>`,
 * keyed by conversation. The integration reports back with receipts.
 */
export class KafkaChannelConnector implements ChannelConnector {
  constructor(
    readonly channel: CustomChannel & Channel,
    private readonly bus: MessageBus,
  ) {}

  accountOf(): string | undefined {
    return undefined;
  }

  async send(reply: OutboundReply): Promise<{ channelMessageId: string }> {
    const at = new Date().toISOString();
    const data = ChannelMessageSend.schema.parse({
      tenantId: reply.tenantId,
      channel: this.channel,
      conversationId: reply.conversationId,
      messageId: reply.messageId,
      recipient: reply.recipient,
      ...(reply.text !== undefined ? { text: reply.text } : {}),
      attachments: reply.attachments,
      ...(reply.template ? { template: reply.template } : {}),
      at,
    });
    await this.bus.publish(CHANNEL_TOPICS.outbound(this.channel), [
      {
        key: data.conversationId,
        value: JSON.stringify(data),
        headers: {
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_source: `/parley/tenants/${encodeURIComponent(reply.tenantId)}`,
          ce_type: ChannelMessageSend.type,
          ce_time: at,
          ce_schemaversion: String(ChannelMessageSend.version),
          ce_tenantid: reply.tenantId,
        },
      },
    ]);
    return { channelMessageId: reply.messageId };
  }
}
