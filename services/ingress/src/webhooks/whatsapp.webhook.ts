import { z } from 'zod';
import type { Attachment, Identity } from '@parley/contracts';
import { fromUnixSeconds, type InboundEvent } from '../inbound/inbound.event';
import { malformed } from './webhook.errors';

const Media = z.object({
  id: z.string(),
  mime_type: z.string().default('application/octet-stream'),
  caption: z.string().optional(),
  filename: z.string().optional(),
});
const Message = z.object({
  id: z.string().min(1),
  from: z.string().optional(),
  /** The business-scoped user id (BSUID), in every messages webhook since 2026. */
  from_user_id: z.string().optional(),
  timestamp: z.string(),
  type: z.string(),
  text: z.object({ body: z.string() }).optional(),
  image: Media.optional(),
  document: Media.optional(),
  audio: Media.optional(),
  video: Media.optional(),
  sticker: Media.optional(),
  button: z.object({ text: z.string() }).optional(),
  interactive: z
    .object({
      button_reply: z.object({ id: z.string(), title: z.string() }).optional(),
      list_reply: z.object({ id: z.string(), title: z.string() }).optional(),
    })
    .optional(),
});
const Status = z.object({
  id: z.string(),
  status: z.enum(['sent', 'delivered', 'read', 'failed', 'deleted', 'warning']).or(z.string()),
  timestamp: z.string(),
  recipient_id: z.string().optional(),
  recipient_user_id: z.string().optional(),
  /** What we set when sending: our message id, so a status finds its message. */
  biz_opaque_callback_data: z.string().optional(),
  errors: z.array(z.object({ code: z.number(), title: z.string().optional() })).optional(),
});
const Contact = z.object({ wa_id: z.string().optional(), user_id: z.string().optional() });
const Body = z.object({
  object: z.literal('whatsapp_business_account'),
  entry: z.array(
    z.object({
      id: z.string(),
      changes: z.array(
        z.object({
          field: z.string(),
          value: z.object({
            metadata: z.object({ phone_number_id: z.string() }).optional(),
            contacts: z.array(Contact).default([]),
            messages: z.array(Message).default([]),
            statuses: z.array(Status).default([]),
          }),
        }),
      ),
    }),
  ),
});

export interface WhatsAppResult {
  readonly events: InboundEvent[];
  /** Business numbers we do not serve (counted, not recorded). */
  readonly unknownAccounts: number;
  readonly ignored: number;
}

function identityOf(contacts: readonly z.infer<typeof Contact>[], userId: string | undefined, waId: string | undefined): Identity | null {
  const contact = contacts.find((c) => (userId && c.user_id === userId) || (waId && c.wa_id === waId)) ?? (contacts.length === 1 ? contacts[0] : undefined);
  const id = userId ?? contact?.user_id ?? waId ?? contact?.wa_id;
  if (!id) return null;
  const phone = waId ?? contact?.wa_id;
  return { kind: 'whatsapp', id, ...(phone && phone !== id && /^\d{6,20}$/.test(phone) ? { waId: phone } : {}) };
}

/**
 * The Cloud API's webhook, as documented by Meta: batched entries and changes,
 * messages with their contacts, and statuses of what we sent. A customer is the
 * business-scoped user id when Meta sends one; payloads from before BSUIDs
 * carry only wa_id, which then serves as the id.
 */
export function parseWhatsApp(raw: unknown, tenantOf: (phoneNumberId: string) => string | undefined): WhatsAppResult {
  const parsed = Body.safeParse(raw);
  if (!parsed.success) throw malformed('whatsapp', parsed.error.issues);
  const events: InboundEvent[] = [];
  let unknownAccounts = 0;
  let ignored = 0;
  for (const entry of parsed.data.entry) {
    for (const change of entry.changes) {
      if (change.field !== 'messages') continue;
      const v = change.value;
      const tenantId = v.metadata ? tenantOf(v.metadata.phone_number_id) : undefined;
      if (!tenantId) {
        unknownAccounts += v.messages.length + v.statuses.length;
        continue;
      }
      for (const m of v.messages) {
        const identity = identityOf(v.contacts, m.from_user_id, m.from);
        const media = m.image ?? m.document ?? m.audio ?? m.video ?? m.sticker;
        const text = m.text?.body ?? m.button?.text ?? m.interactive?.button_reply?.title ?? m.interactive?.list_reply?.title ?? media?.caption;
        const attachments: Attachment[] = media
          ? [
              {
                ref: `whatsapp-media:${media.id}`,
                mimeType: /^[a-z]+\/[a-z0-9.+-]+$/i.test(media.mime_type.split(';')[0]!.trim())
                  ? media.mime_type.split(';')[0]!.trim()
                  : 'application/octet-stream',
                sizeBytes: 0,
                ...(media.filename ? { name: media.filename } : {}),
              },
            ]
          : [];
        if (!identity || (!text && attachments.length === 0)) {
          ignored++;
          continue;
        }
        events.push({
          kind: 'message',
          tenantId,
          channel: 'whatsapp',
          identity,
          channelMessageId: m.id,
          ...(text ? { text } : {}),
          attachments,
          at: fromUnixSeconds(m.timestamp),
        });
      }
      for (const s of v.statuses) {
        const identity = identityOf(v.contacts, s.recipient_user_id, s.recipient_id);
        if (!identity || !['delivered', 'read', 'failed'].includes(s.status)) {
          ignored++;
          continue;
        }
        const error = s.errors?.[0];
        events.push({
          kind: 'receipt',
          tenantId,
          channel: 'whatsapp',
          identity,
          status: s.status as 'delivered' | 'read' | 'failed',
          // Our id when we set it as callback data; otherwise the wamid Graph gave the reply.
          ...(s.biz_opaque_callback_data ? { messageId: s.biz_opaque_callback_data } : { channelMessageId: s.id }),
          ...(error ? { error: `whatsapp ${error.code}${error.title ? `: ${error.title}` : ''}`.slice(0, 500) } : {}),
          at: fromUnixSeconds(s.timestamp),
        });
      }
    }
  }
  return { events, unknownAccounts, ignored };
}
