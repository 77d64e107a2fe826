import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomerDirectory } from '@parley/customer-directory';
import { Registry, gauge, type Logger } from '@parley/observability';
import { openStorage } from '@parley/storage';
import { IngressWebhooks } from '../http/ingress.webhooks';
import { metaWebhookRoute } from '../http/meta-webhook.route';
import { InboundRecorder } from '../inbound/inbound.recorder';
import { RecordingIntake } from '../inbound/inbound.intake';
import { signMetaBody } from '../webhooks/meta.signature';

/** Sent this many at a time: enough for group commits of the size real traffic makes. */
const CONCURRENCY = 64;

/**
 * Runs signed WhatsApp webhooks through the whole webhook path before the service
 * takes traffic: a loopback HTTP server with the same route, signature check,
 * parsing, customer directory, deciders, encryption and SQLite log, all on a
 * throwaway database file with keys of its own: V8 compiles the hot path before
 * a load balancer sends the new instance its full share at once. Half the messages are first contacts, half from returning
 * customers. Nothing reaches the real log, metrics or bus.
 */
export async function warmUpWebhooks(messages: number, logger: Logger, serviceRegistry: Registry): Promise<void> {
  if (messages <= 0) return;
  const started = Date.now();
  // The warm-up's own metrics: nothing it does is counted as the service's traffic.
  const registry = new Registry();
  // A file, as the service's own log is: a file log syncs its write-ahead log and
  // checkpoints it on a thread, and an in-memory one does neither, so half the
  // write path was first compiled under real traffic. About 6 MB for 2,000
  // messages, gone when the warm-up ends; in memory where no temporary directory is writable.
  const dir = temporaryDirectory();
  const storage = await openStorage(
    {
      PARLEY_STORE: 'sqlite',
      PARLEY_SQLITE_FILE: dir ? join(dir, 'warmup.db') : ':memory:',
      PARLEY_MONGO_DATABASE: 'warmup',
      PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
    },
    registry,
  );
  const appSecret = randomBytes(16).toString('hex');
  const tenantId = 'warmup';
  const phoneNumberId = 'warmup-number';
  const directory = new CustomerDirectory(storage.log, randomBytes(32));
  const recorder = new InboundRecorder(storage.log, directory, logger, registry);
  const webhooks = new IngressWebhooks(
    { meta: { appSecret, verifyToken: appSecret }, whatsapp: [{ phoneNumberId, tenantId, accessToken: 'none' }], messenger: [], apple: [] },
    new RecordingIntake(recorder),
    logger,
    registry,
  );
  const route = metaWebhookRoute(webhooks);
  const server = createServer((req, res) => {
    if (!route(req, res)) res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const customers = Math.max(1, Math.floor(messages / 2));
  const post = (i: number) => {
    const raw = JSON.stringify(whatsappText(phoneNumberId, `warmup.${i % customers}`, `wamid.warmup.${i}`, `warm-up message ${i}`));
    return postWhatsAppWebhook(agent, port, raw, signMetaBody(raw, appSecret));
  };
  let refused = 0;
  try {
    for (let next = 0; next < messages; next += CONCURRENCY) {
      const statuses = await Promise.all(Array.from({ length: Math.min(CONCURRENCY, messages - next) }, (_, k) => post(next + k)));
      refused += statuses.filter((s) => s !== 200).length;
    }
  } finally {
    agent.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await storage.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  // A refusal here is a bug in the webhook path itself: say so, but the service still starts.
  if (refused > 0) logger.warn({ messages, refused }, 'webhook warm-up: some synthetic webhooks were refused');
  gauge(serviceRegistry, {
    name: 'parley_ingress_warmup_seconds',
    help: 'How long the start-up warm-up of the webhook path took (synthetic webhooks on a throwaway database).',
  }).set((Date.now() - started) / 1000);
  logger.info({ messages, ms: Date.now() - started }, 'webhook path warmed up');
}

function temporaryDirectory(): string | null {
  try {
    return mkdtempSync(join(tmpdir(), 'parley-warmup-'));
  } catch {
    return null;
  }
}

/** POSTs a signed WhatsApp webhook body to a local ingress; resolves with the HTTP status (the warm-up and the benchmark). */
export function postWhatsAppWebhook(agent: Agent, port: number, raw: string, signature: string): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/webhooks/whatsapp',
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw), 'x-hub-signature-256': signature },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(raw);
  });
}

/** One text message in the WhatsApp Cloud API's webhook format (docs/channels.md, "Channels: the ingress service"). */
function whatsappText(phoneNumberId: string, userId: string, wamid: string, text: string) {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'warmup',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '0', phone_number_id: phoneNumberId },
              contacts: [{ profile: { name: 'Warm-up' }, user_id: userId }],
              messages: [{ from_user_id: userId, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
            },
          },
        ],
      },
    ],
  };
}
