/**
 * A sample of the brand's own systems, as its developers would write it: a
 * small shop that knows Parley only by the `parley.customer.context` topic and
 * its schemas (libs/contracts/asyncapi, libs/contracts/schemas).
 *
 * - `POST /customers` `{ "phone": "+49...", "name": "...", "email": "...", "tier": "gold", "attributes": {...} }`
 *   (or `"customerId"` for the shop's own id, or only `"email"`): publishes a
 *   parley.customer.profile-changed.
 * - `POST /orders` `{ "phone": "+49...", "orderId": "A-1", "items": [{ "name": "Mug", "quantity": 2, "unitPriceCents": 1250 }], "currency": "EUR" }`:
 *   places an order (status `placed`) and publishes a parley.customer.order-changed.
 * - `POST /orders/<orderId>/status` `{ "status": "shipped" }`: the order's next
 *   status, published the same way.
 *
 * Answers 202 once Kafka has the record. Settings: SHOP_BROKERS, SHOP_TENANT
 * (default `demo`), SHOP_PORT, SHOP_URL (its back office, for order links).
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Kafka, logLevel } from 'kafkajs';

const brokers = (process.env['SHOP_BROKERS'] ?? '127.0.0.1:9092').split(',');
const tenantId = process.env['SHOP_TENANT'] ?? 'demo';
const port = Number(process.env['SHOP_PORT'] ?? 8091);
const backOffice = process.env['SHOP_URL'] ?? 'https://shop.example/admin';
const TOPIC = 'parley.customer.context';
const kafka = new Kafka({ clientId: 'sample-shop', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true });

type Identity = { kind: 'sms' | 'email' | 'external'; id: string };
interface Item {
  name: string;
  quantity: number;
  unitPriceCents: number;
  sku?: string;
}
interface Order {
  identity: Identity;
  orderId: string;
  placedAt: string;
  status: string;
  items: Item[];
  currency: string;
}
/** The shop's own database, as far as this sample needs one. */
const orders = new Map<string, Order>();

/** Whom the shop means: its own customer id, else the phone number, else the e-mail address. */
function identityOf(body: { customerId?: string; phone?: string; email?: string }): Identity {
  if (body.customerId) return { kind: 'external', id: body.customerId };
  if (body.phone) return { kind: 'sms', id: body.phone };
  if (body.email) return { kind: 'email', id: body.email };
  throw new Error('name the customer: customerId, phone or email');
}

/** A CloudEvent in Kafka's binary mode, keyed so one customer's changes stay in order. */
async function publish(type: string, identity: Identity, data: Record<string, unknown>): Promise<void> {
  await producer.send({
    topic: TOPIC,
    acks: -1,
    messages: [
      {
        key: `${tenantId}:${identity.kind}:${identity.id}`,
        value: JSON.stringify({ tenantId, identity, ...data, at: new Date().toISOString() }),
        headers: {
          'content-type': 'application/json',
          ce_specversion: '1.0',
          ce_id: randomUUID(),
          ce_source: 'urn:sample:shop',
          ce_type: type,
          ce_time: new Date().toISOString(),
          ce_schemaversion: '1',
          ce_tenantid: tenantId,
        },
      },
    ],
  });
}

function orderData(order: Order) {
  return {
    order: {
      orderId: order.orderId,
      placedAt: order.placedAt,
      status: order.status,
      items: order.items.map((i) => ({
        ...(i.sku ? { sku: i.sku } : {}),
        name: i.name,
        quantity: i.quantity,
        unitPrice: { amountMinor: i.unitPriceCents, currency: order.currency },
      })),
      total: { amountMinor: order.items.reduce((sum, i) => sum + i.quantity * i.unitPriceCents, 0), currency: order.currency },
      url: `${backOffice}/orders/${encodeURIComponent(order.orderId)}`,
    },
  };
}

async function route(req: IncomingMessage, body: Record<string, unknown>): Promise<number> {
  const path = req.url ?? '';
  if (req.method !== 'POST') return 405;
  if (path === '/customers') {
    const identity = identityOf(body);
    const profile = Object.fromEntries(['name', 'email', 'locale', 'tier', 'attributes'].filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
    await publish('parley.customer.profile-changed', identity, { profile });
    return 202;
  }
  if (path === '/orders') {
    const order: Order = {
      identity: identityOf(body),
      orderId: String(body['orderId'] ?? `SO-${Date.now()}`),
      placedAt: new Date().toISOString(),
      status: 'placed',
      items: body['items'] as Item[],
      currency: String(body['currency'] ?? 'EUR'),
    };
    orders.set(order.orderId, order);
    await publish('parley.customer.order-changed', order.identity, orderData(order));
    return 202;
  }
  const status = /^\/orders\/([^/]+)\/status$/.exec(path);
  if (status) {
    const order = orders.get(decodeURIComponent(status[1]!));
    if (!order) return 404;
    order.status = String(body['status']);
    await publish('parley.customer.order-changed', order.identity, orderData(order));
    return 202;
  }
  return 404;
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  let text = '';
  req.on('data', (c: Buffer) => (text += c.toString()));
  req.on('end', () => {
    void (async () => {
      try {
        res.writeHead(await route(req, JSON.parse(text || '{}') as Record<string, unknown>)).end();
      } catch (error) {
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: error instanceof Error ? error.message : String(error) }));
      }
    })();
  });
}

async function main(): Promise<void> {
  await producer.connect();
  const server = createServer(handle);
  // Port 0 takes a free one: the line tells which.
  server.listen(port, '127.0.0.1', () => process.stdout.write(`${JSON.stringify({ listening: (server.address() as { port: number }).port })}\n`));
  const stop = async () => {
    server.close();
    await producer.disconnect();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`shop failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
