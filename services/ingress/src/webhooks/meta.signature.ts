import { createHmac, timingSafeEqual } from 'node:crypto';
import { WebhookSignatureError } from './webhook.errors';

/**
 * Meta signs every webhook body with the app secret: `X-Hub-Signature-256:
 * sha256=<hex HMAC-SHA256 of the raw bytes>`. Checked before the body is even
 * parsed, in constant time.
 */
export function verifyMetaSignature(channel: string, rawBody: Buffer | undefined, header: string | undefined, appSecret: string): void {
  if (!rawBody || !header?.startsWith('sha256=')) throw new WebhookSignatureError(channel);
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(rawBody).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new WebhookSignatureError(channel);
}

export function signMetaBody(body: Buffer | string, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
}

/** Meta's subscription handshake: echo the challenge only to the right token. */
export function metaHandshake(query: Record<string, unknown>, verifyToken: string): string {
  const token = typeof query['hub.verify_token'] === 'string' ? query['hub.verify_token'] : '';
  const a = Buffer.from(token);
  const b = Buffer.from(verifyToken);
  if (query['hub.mode'] !== 'subscribe' || a.length !== b.length || !timingSafeEqual(a, b) || typeof query['hub.challenge'] !== 'string')
    throw new WebhookSignatureError('meta-handshake');
  return query['hub.challenge'];
}
