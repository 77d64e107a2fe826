import type { ChannelAccounts } from '../config/ingress.config';
import type { ChannelConnector, OutboundReply } from './channel.connector';
import { DeliveryFailedError, postJson, type RetryPolicy } from './graph.client';

/**
 * The Send API, `POST /{page-id}/messages`: a RESPONSE within 24 hours, or a
 * MESSAGE_TAG with HUMAN_AGENT up to 7 days (the domain decided which).
 */
export class MessengerConnector implements ChannelConnector {
  readonly channel = 'messenger' as const;

  constructor(
    private readonly accounts: ChannelAccounts['messenger'],
    private readonly baseUrl: string,
    private readonly policy: RetryPolicy,
  ) {}

  accountOf(tenantId: string): string | undefined {
    return this.accounts.find((a) => a.tenantId === tenantId)?.pageId;
  }

  async send(reply: OutboundReply): Promise<{ channelMessageId: string }> {
    const account = this.accounts.find((a) => a.tenantId === reply.tenantId);
    if (!account) throw new DeliveryFailedError('messenger', 0, 'no Messenger page configured for the tenant', 0);
    const attachment = reply.attachments[0];
    const top = attachment?.mimeType.split('/')[0];
    const message = attachment
      ? { attachment: { type: top === 'image' || top === 'video' || top === 'audio' ? top : 'file', payload: { url: attachment.ref, is_reusable: true } } }
      : { text: reply.text ?? '', metadata: reply.messageId };
    const body = {
      recipient: { id: reply.recipient.id },
      messaging_type: reply.tag ? 'MESSAGE_TAG' : 'RESPONSE',
      ...(reply.tag ? { tag: reply.tag } : {}),
      message,
    };
    const response = await postJson<{ message_id?: string }>('messenger', `${this.baseUrl}/${account.pageId}/messages`, account.accessToken, body, this.policy);
    if (!response.message_id) throw new DeliveryFailedError('messenger', 200, 'no message id in the answer', 1);
    return { channelMessageId: response.message_id };
  }
}
