import type { Attachment } from '@parley/contracts';
import type { ChannelAccounts } from '../config/ingress.config';
import type { ChannelConnector, OutboundReply } from './channel.connector';
import { blobIdOf, type BlobStore } from '@parley/blob-store';
import { DeliveryFailedError, postForm, postJson, type RetryPolicy } from './graph.client';

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
    /** Where files Parley keeps are read from, to upload them to WhatsApp before they are sent. */
    private readonly blobs?: BlobStore,
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
    const mediaId = attachment ? await this.mediaIdOf(reply.tenantId, account, attachment) : undefined;
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
              ...(mediaId ? { id: mediaId } : { link: attachment.ref }),
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

  /**
   * A WhatsApp media id for the attachment: its own for media a customer sent; for
   * a file Parley keeps, uploaded first (`POST /{phone-number-id}/media`, as the
   * Cloud API documents), since WhatsApp cannot read Parley's store; none for a link.
   */
  private async mediaIdOf(tenantId: string, account: ChannelAccounts['whatsapp'][number], attachment: Attachment): Promise<string | undefined> {
    if (attachment.ref.startsWith('whatsapp-media:')) return attachment.ref.slice('whatsapp-media:'.length);
    const blobId = blobIdOf(attachment.ref);
    if (!blobId) return undefined;
    const found = this.blobs ? await this.blobs.get(tenantId, blobId) : null;
    if (!found) throw new DeliveryFailedError('whatsapp', 0, 'the attachment is no longer stored', 0);
    const chunks: Buffer[] = [];
    for await (const chunk of found.stream) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    const uploaded = await postForm<{ id?: string }>(
      'whatsapp',
      `${this.baseUrl}/${account.phoneNumberId}/media`,
      account.accessToken,
      () => {
        const form = new FormData();
        form.set('messaging_product', 'whatsapp');
        form.set('type', found.meta.mimeType);
        form.set('file', new Blob([bytes], { type: found.meta.mimeType }), found.meta.name ?? 'attachment');
        return form;
      },
      this.policy,
    );
    if (!uploaded.id) throw new DeliveryFailedError('whatsapp', 200, 'no media id in the answer', 1);
    return uploaded.id;
  }
}
