import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { WEBHOOK_MAX_BYTES } from '../webhooks/webhook.errors';
import type { IngressWebhooks, WebhookAnswer } from './ingress.webhooks';

/**
 * Meta's webhook POSTs (WhatsApp, Messenger), served by WebhooksController with
 * the body unread (the JSON parser passes over these paths): the raw bytes are
 * what the signature covers. The body is kept up to WEBHOOK_MAX_BYTES (413
 * otherwise, once the rest has been read and dropped); everything after that,
 * signature first, is IngressWebhooks'. Returns false for any other request.
 */
/** How much of a too-large body is read and dropped before the connection is cut. */
const DRAIN_MAX_BYTES = 64 * 1024 * 1024;

/** The Meta webhook paths and their channel. */
export function metaChannelOf(req: IncomingMessage): 'whatsapp' | 'messenger' | null {
  if (req.method !== 'POST') return null;
  const path = (req.url ?? '').split('?', 1)[0];
  return path === '/webhooks/whatsapp' ? 'whatsapp' : path === '/webhooks/messenger' ? 'messenger' : null;
}

export function metaWebhookRoute(webhooks: IngressWebhooks): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const channel = metaChannelOf(req);
    if (!channel) return false;
    const started = process.hrtime.bigint();
    const signature = typeof req.headers['x-hub-signature-256'] === 'string' ? req.headers['x-hub-signature-256'] : undefined;
    let refused = false;
    const tooLarge = () => {
      if (refused) return;
      refused = true;
      void webhooks.tooLarge(channel, started).then((answer) => write(res, answer));
    };
    // Too large: the body is read to its end and dropped, then 413. Answering while the
    // client still sends would make it see a reset or a broken pipe instead of the answer.
    let over = Number(req.headers['content-length'] ?? 0) > WEBHOOK_MAX_BYTES;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (!over && size <= WEBHOOK_MAX_BYTES) return void chunks.push(chunk);
      if (!over) chunks.length = 0;
      over = true;
      if (size > DRAIN_MAX_BYTES && !refused) {
        // A sender that does not stop is answered and cut off.
        res.setHeader('connection', 'close');
        res.once('finish', () => req.socket.destroy());
        tooLarge();
      }
    });
    req.on('end', () => {
      if (over) return tooLarge();
      void webhooks[channel](Buffer.concat(chunks, size), signature).then((answer) => write(res, answer));
    });
    // A client that goes away mid-body gets no answer; nothing was recorded.
    req.on('error', () => res.destroy());
    return true;
  };
}

/**
 * `Expect: 100-continue` (curl sends it for bodies over 1 KB) with a declared body
 * over the limit: 413 before the client sends the body. Anything else continues as
 * node:http does by itself.
 */
export function refuseOversizedBeforeContinue(server: Server, webhooks: IngressWebhooks, otherLimitBytes: number): void {
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const channel = metaChannelOf(req);
    const length = Number(req.headers['content-length']);
    if (!(Number.isFinite(length) && length > (channel ? WEBHOOK_MAX_BYTES : otherLimitBytes))) {
      res.writeContinue();
      server.emit('request', req, res);
      return;
    }
    // The body was never asked for: the connection cannot be reused.
    res.setHeader('connection', 'close');
    if (channel) void webhooks.tooLarge(channel, process.hrtime.bigint()).then((answer) => write(res, answer));
    else write(res, { status: 413, body: { statusCode: 413, message: 'request entity too large' } });
  });
}

function write(res: ServerResponse, answer: WebhookAnswer): void {
  if (res.writableEnded || res.destroyed) return;
  const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
  res.writeHead(answer.status, {
    'content-type': typeof answer.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
