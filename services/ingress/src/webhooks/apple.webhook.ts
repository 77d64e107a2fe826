import { jwtVerify } from 'jose';
import { z } from 'zod';
import type { ChannelAccounts } from '../config/ingress.config';
import type { InboundEvent } from '../inbound/inbound.event';
import { MalformedWebhookError, WebhookSignatureError } from './webhook.errors';

const Body = z.object({
  v: z.number().optional(),
  type: z.string(),
  id: z.string().optional(),
  sourceId: z.string().optional(),
  destinationId: z.string().optional(),
  body: z.string().optional(),
  locale: z.string().optional(),
  interactiveData: z
    .object({ data: z.record(z.string(), z.unknown()).optional(), receivedMessage: z.object({ title: z.string().optional() }).optional() })
    .optional(),
});

export interface AppleHeaders {
  readonly id?: string;
  readonly sourceId?: string;
  readonly destinationId?: string;
  readonly authorization?: string;
}

/**
 * A message from Apple's Messages for Business gateway, as a messaging service
 * provider receives it: `POST /apple/message` with the headers `id` (the message
 * id: our idempotency key), `source-id` (the customer's opaque id),
 * `destination-id` (the business id) and `authorization: Bearer <JWT>` (HS256
 * with the shared secret, audience our MSP id). Bodies may be gzip-encoded.
 * Types: `text`, `interactive` (a reply to a list picker, time picker...),
 * `close` (the customer deleted the conversation: nothing may be sent after it),
 * `typing_start` and `typing_end` (not recorded).
 */
export async function parseApple(raw: unknown, headers: AppleHeaders, accounts: ChannelAccounts['apple']): Promise<InboundEvent | null> {
  const account = accounts.find((a) => a.businessId === headers.destinationId);
  const token = headers.authorization?.startsWith('Bearer ') ? headers.authorization.slice(7) : '';
  if (!account || !token) throw new WebhookSignatureError('apple');
  try {
    await jwtVerify(token, Buffer.from(account.secret, 'base64'), { audience: account.mspId, algorithms: ['HS256'] });
  } catch {
    throw new WebhookSignatureError('apple');
  }
  const parsed = Body.safeParse(raw);
  if (!parsed.success || !headers.id || !headers.sourceId)
    throw new MalformedWebhookError(
      'apple',
      parsed.success
        ? 'id and source-id headers are required'
        : parsed.error.issues
            .map((i) => `${i.path.join('.')}: ${i.message}`)
            .join('; ')
            .slice(0, 500),
    );
  const identity = { kind: 'apple' as const, id: headers.sourceId };
  const at = new Date().toISOString();
  const b = parsed.data;
  switch (b.type) {
    case 'text':
      if (!b.body) throw new MalformedWebhookError('apple', 'a text message needs a body');
      return { kind: 'message', tenantId: account.tenantId, channel: 'apple', identity, channelMessageId: headers.id, text: b.body, attachments: [], at };
    case 'interactive': {
      const text = b.interactiveData?.receivedMessage?.title ?? b.body;
      if (!text) throw new MalformedWebhookError('apple', 'an interactive reply needs receivedMessage.title');
      return { kind: 'message', tenantId: account.tenantId, channel: 'apple', identity, channelMessageId: headers.id, text, attachments: [], at };
    }
    case 'close':
      return { kind: 'close', tenantId: account.tenantId, channel: 'apple', identity, at };
    default:
      return null;
  }
}
