import { z } from 'zod';
import type { Attachment } from '@parley/contracts';
import { fromUnixMillis, type InboundEvent } from '../inbound/inbound.event';
import { malformed } from './webhook.errors';

const MIME_OF: Record<string, string> = { image: 'image/unknown', video: 'video/unknown', audio: 'audio/unknown', file: 'application/octet-stream' };

const Messaging = z.object({
  sender: z.object({ id: z.string() }),
  recipient: z.object({ id: z.string() }),
  timestamp: z.number(),
  message: z
    .object({
      mid: z.string(),
      text: z.string().optional(),
      is_echo: z.boolean().optional(),
      app_id: z.union([z.number(), z.string()]).optional(),
      attachments: z.array(z.object({ type: z.string(), payload: z.object({ url: z.string().optional() }).nullable().optional() })).optional(),
      quick_reply: z.object({ payload: z.string() }).optional(),
    })
    .optional(),
  delivery: z.object({ mids: z.array(z.string()).optional(), watermark: z.number() }).optional(),
  read: z.object({ watermark: z.number() }).optional(),
  postback: z.object({ mid: z.string().optional(), title: z.string(), payload: z.string().optional() }).optional(),
});
const Body = z.object({ object: z.literal('page'), entry: z.array(z.object({ id: z.string(), time: z.number(), messaging: z.array(Messaging).default([]) })) });

export interface MessengerResult {
  readonly events: InboundEvent[];
  readonly unknownAccounts: number;
  readonly ignored: number;
}

/**
 * The Messenger Platform's page webhook: messages (text, attachments, quick
 * replies, postbacks), echoes, and delivery and read watermarks. The customer is
 * the page-scoped id (PSID); duplicates are dropped by the message id (mid).
 */
export function parseMessenger(raw: unknown, tenantOf: (pageId: string) => string | undefined): MessengerResult {
  const parsed = Body.safeParse(raw);
  if (!parsed.success) throw malformed('messenger', parsed.error.issues);
  const events: InboundEvent[] = [];
  let unknownAccounts = 0;
  let ignored = 0;
  for (const entry of parsed.data.entry) {
    const tenantId = tenantOf(entry.id);
    if (!tenantId) {
      unknownAccounts += entry.messaging.length;
      continue;
    }
    for (const m of entry.messaging) {
      if (m.message?.is_echo) {
        // Our own sends come back as echoes: already recorded when the agent sent them.
        // Echoes of other apps (a page inbox) are not ours to record: counted.
        ignored++;
        continue;
      }
      const identity = { kind: 'messenger' as const, id: m.sender.id };
      if (m.message) {
        const attachments: Attachment[] = (m.message.attachments ?? [])
          .filter((a) => a.payload?.url)
          .map((a) => ({ ref: a.payload!.url!, mimeType: MIME_OF[a.type] ?? 'application/octet-stream', sizeBytes: 0 }));
        if (!m.message.text && attachments.length === 0) {
          ignored++;
          continue;
        }
        events.push({
          kind: 'message',
          tenantId,
          channel: 'messenger',
          identity,
          channelMessageId: m.message.mid,
          ...(m.message.text ? { text: m.message.text } : {}),
          attachments,
          at: fromUnixMillis(m.timestamp),
        });
      } else if (m.postback) {
        events.push({
          kind: 'message',
          tenantId,
          channel: 'messenger',
          identity,
          channelMessageId: m.postback.mid ?? `postback-${m.sender.id}-${m.timestamp}`,
          text: m.postback.title,
          attachments: [],
          at: fromUnixMillis(m.timestamp),
        });
      } else if (m.delivery) {
        events.push({
          kind: 'receipt',
          tenantId,
          channel: 'messenger',
          identity,
          status: 'delivered',
          upTo: fromUnixMillis(m.delivery.watermark),
          at: fromUnixMillis(m.timestamp),
        });
      } else if (m.read) {
        events.push({
          kind: 'receipt',
          tenantId,
          channel: 'messenger',
          identity,
          status: 'read',
          upTo: fromUnixMillis(m.read.watermark),
          at: fromUnixMillis(m.timestamp),
        });
      } else {
        ignored++;
      }
    }
  }
  return { events, unknownAccounts, ignored };
}
