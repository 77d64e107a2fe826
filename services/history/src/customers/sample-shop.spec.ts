import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, type Client } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { infrastructure, waitFor } from '@parley/testing-support';
import type { RunningHistory } from '../history.app';
import { bearer, ferretBackend, rpc, type Backend, startTestHistory } from '../testing/history.fixture';

const SAMPLE = join(__dirname, '..', '..', '..', '..', 'samples', 'shop', 'dist', 'shop.js');

type Customer = {
  id: string;
  profile: { name: string; tier: string };
  latest_orders: { order: { order_id: string; status: string; total: { amount_minor: string; currency: string }; url: string } }[];
};

describe('history: the sample shop tells Parley about its customers over Kafka, end to end (Kafka, FerretDB)', () => {
  let backend: Backend;
  let running: RunningHistory;
  let client: Client;
  let shop: ChildProcess;
  let shopPort = 0;
  const lines: string[] = [];
  const tenant = `shop-${randomUUID().slice(0, 8)}`;
  const post = (path: string, body: unknown) => fetch(`http://127.0.0.1:${shopPort}${path}`, { method: 'POST', body: JSON.stringify(body) });

  before(async () => {
    const { kafkaBrokers } = infrastructure();
    backend = ferretBackend();
    running = await startTestHistory(backend, { PARLEY_KAFKA_BROKERS: kafkaBrokers.join(',') });
    client = new (parleyService('CustomerService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    shop = spawn(process.execPath, [SAMPLE], {
      env: { ...process.env, SHOP_BROKERS: kafkaBrokers.join(','), SHOP_TENANT: tenant, SHOP_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    shop.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const listening = await waitFor(
      () => lines.find((l) => l.includes('listening')),
      (line) => line !== undefined,
      { what: 'the sample shop', timeoutMs: 30_000 },
    );
    shopPort = (JSON.parse(listening!) as { listening: number }).listening;
  });
  after(async () => {
    if (shop.exitCode === null && shop.signalCode === null) {
      const exited = new Promise((r) => shop.once('exit', r));
      shop.kill('SIGTERM');
      await exited;
    }
    client.close();
    await running.close();
    await backend.cleanup();
  });

  it('a customer signs up, orders, the order ships: the agent sees the name and the latest order with its status', async () => {
    const phone = '+4915123456789';
    assert.equal((await post('/customers', { phone, name: 'Dana Vogel', tier: 'gold', attributes: { newsletter: true } })).status, 202);
    assert.equal(
      (await post('/orders', { phone, orderId: 'SO-42', items: [{ name: 'Kettle', quantity: 1, unitPriceCents: 4990 }], currency: 'EUR' })).status,
      202,
    );
    assert.equal((await post('/orders/SO-42/status', { status: 'shipped' })).status, 202);
    assert.equal((await post('/orders/SO-404/status', { status: 'shipped' })).status, 404);
    const agent = await bearer(tenant);
    const customerId = await waitFor(
      async () =>
        (await rpc<{ customer: { id: string } }>(client, 'FindCustomer', { identity: { kind: 'sms', id: phone } }, agent).catch(() => null))?.customer.id,
      (id) => id !== undefined,
      { what: 'the customer registered from the shop', timeoutMs: 30_000 },
    );
    const customer = await waitFor(
      async () => (await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: customerId }, agent)).customer,
      (c) => c.latest_orders[0]?.order.status === 'ORDER_STATUS_SHIPPED',
      { what: 'the shipped order shown', timeoutMs: 30_000 },
    );
    assert.deepEqual([customer.profile.name, customer.profile.tier], ['Dana Vogel', 'gold']);
    const [latest] = customer.latest_orders;
    assert.deepEqual(
      [latest!.order.order_id, Number(latest!.order.total.amount_minor), latest!.order.total.currency, latest!.order.url],
      ['SO-42', 4990, 'EUR', 'https://shop.example/admin/orders/SO-42'],
    );
  });
});
