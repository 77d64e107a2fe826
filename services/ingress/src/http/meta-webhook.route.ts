import type { IncomingMessage, ServerResponse } from 'node:http';
import { WEBHOOK_MAX_BYTES } from '../webhooks/webhook.errors';
import type { IngressWebhooks, WebhookAnswer } from './ingress.webhooks';

/**
 * Meta's webhook POSTs (WhatsApp, Messenger), answered on plain node:http ahead of
 * the Nest application: they are the hot path (every customer message of both
 * channels) and need nothing of a framework, only the raw bytes for the
 * signature. The body is read up to WEBHOOK_MAX_BYTES and no further (413
 * otherwise); everything after that, signature first, is IngressWebhooks'.
 * Returns false for any other request, which the Nest application then serves.
 */
export function metaWebhookRoute(webhooks: IngressWebhooks): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    if (req.method !== 'POST') return false;
    const path = (req.url ?? '').split('?', 1)[0];
    const channel = path === '/webhooks/whatsapp' ? 'whatsapp' : path === '/webhooks/messenger' ? 'messenger' : null;
    if (!channel) return false;
    const started = process.hrtime.bigint();
    const signature = typeof req.headers['x-hub-signature-256'] === 'string' ? req.headers['x-hub-signature-256'] : undefined;
    const refuse = () => {
      // Not read further: answered at once, and the connection is not reused.
      res.setHeader('connection', 'close');
      req.resume();
      void webhooks.tooLarge(channel, started).then((answer) => write(res, answer));
    };
    if (Number(req.headers['content-length'] ?? 0) > WEBHOOK_MAX_BYTES) {
      refuse();
      return true;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (chunk: Buffer) => {
      if (over) return;
      size += chunk.length;
      if (size <= WEBHOOK_MAX_BYTES) return void chunks.push(chunk);
      over = true;
      chunks.length = 0;
      refuse();
    });
    req.on('end', () => {
      if (over) return;
      void webhooks[channel](Buffer.concat(chunks, size), signature).then((answer) => write(res, answer));
    });
    // A client that goes away mid-body gets no answer; nothing was recorded.
    req.on('error', () => res.destroy());
    return true;
  };
}

function write(res: ServerResponse, answer: WebhookAnswer): void {
  if (res.writableEnded || res.destroyed) return;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}
