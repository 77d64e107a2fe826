import type { Attachment } from '@parley/contracts';
import type { ChannelAccounts } from '../config/ingress.config';
import type { ChannelConnector, OutboundReply } from './channel.connector';
import { DeliveryFailedError, postJson, type RetryPolicy } from './graph.client';

function mediaKind(a: Attachment): 'image' | 'video' | 'audio' | 'document' {
  const top = a.mimeType.split('/')[0];
  return top === 'image' || top === 'video' || top === 'audio' ? top : 'document';
}

/**
 * The Cloud API's `POST /{phone-number-id}/messages`. The recipient is the
 * phone number (`to`) when known, else the business-scoped user id
 * (`recipient`); our message id travels as `biz_opaque_callback_data` and
 * comes back in every status webhook.
 */
export class WhatsAppConnector implements ChannelConnector {
  readonly channel = 'whatsapp' as const;

  constructor(
    private readonly accounts: ChannelAccounts['whatsapp'],
    private readonly baseUrl: string,
    private readonly policy: RetryPolicy,
  ) {}

  accountOf(tenantId: string): string | undefined {
    return this.accounts.find((a) => a.tenantId === tenantId)?.phoneNumberId;
  }

  async send(reply: OutboundReply): Promise<{ channelMessageId: string }> {
    const account = this.accounts.find((a) => a.tenantId === reply.tenantId);
    if (!account) throw new DeliveryFailedError('whatsapp', 0, 'no WhatsApp number configured for the tenant', 0);
    const r = reply.recipient;
    const base = {
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      ...(r.kind === 'whatsapp' && r.waId ? { to: r.waId } : { recipient: r.id }),
      biz_opaque_callback_data: reply.messageId,
    };
    const attachment = reply.attachments[0];
    const body = reply.template
      ? {
          ...base,
          type: 'template',
          template: {
            name: reply.template.name,
            language: { code: reply.template.language },
            components: reply.template.parameters.length
              ? [{ type: 'body', parameters: reply.template.parameters.map((text) => ({ type: 'text', text })) }]
              : [],
          },
        }
      : attachment
        ? {
            ...base,
            type: mediaKind(attachment),
            [mediaKind(attachment)]: {
              ...(attachment.ref.startsWith('whatsapp-media:') ? { id: attachment.ref.slice('whatsapp-media:'.length) } : { link: attachment.ref }),
              ...(reply.text ? { caption: reply.text } : {}),
              ...(mediaKind(attachment) === 'document' && attachment.name ? { filename: attachment.name } : {}),
            },
          }
        : { ...base, type: 'text', text: { body: reply.text ?? '', preview_url: false } };
    const response = await postJson<{ messages?: { id: string }[] }>(
      'whatsapp',
      `${this.baseUrl}/${account.phoneNumberId}/messages`,
      account.accessToken,
      body,
      this.policy,
    );
    const id = response.messages?.[0]?.id;
    if (!id) throw new DeliveryFailedError('whatsapp', 200, 'no message id in the answer', 1);
    return { channelMessageId: id };
  }
}
