import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, type Client } from '@grpc/grpc-js';
import { Kafka, logLevel, type Consumer, type Producer } from 'kafkajs';
import { parleyService } from '@parley/grpc-edge';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import type { RunningHistory } from '../history.app';
import { bearer, ferretBackend, rpc, type Backend, type Seed, startTestHistory } from '../testing/history.fixture';
import { customerStream } from './customers.grpc';

/**
 * The brand's shop writes to parley.customer.context with a plain Kafka client,
 * records made by hand from the AsyncAPI document (CloudEvents binary mode), as
 * an integration in any language would.
 */
describe('history: customer context from the brand’s systems over Kafka (Kafka, FerretDB)', () => {
  let backend: Backend;
  let running: RunningHistory;
  let client: Client;
  let seed: Seed;
  let kafka: Kafka;
  let producer: Producer;
  let deadLetters: Consumer;
  const dead: { key: string; error: string; code: string }[] = [];
  const namespace = `${uniqueName('context')}.`;
  const topic = `${namespace}parley.customer.context`;
  const tenant = 'brand-a';

  const publish = (key: string, type: string, data: unknown, headers: Record<string, string> = {}) =>
    producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key,
          value: typeof data === 'string' ? data : JSON.stringify(data),
          headers: {
            'content-type': 'application/json',
            ce_specversion: '1.0',
            ce_id: randomUUID(),
            ce_source: 'https://shop.example/orders',
            ce_type: type,
            ce_time: new Date().toISOString(),
            ce_schemaversion: '1',
            ce_tenantid: tenant,
            ...headers,
          },
        },
      ],
    });
  const customerOf = (identity: { kind: string; id: string }) => seed.directory.find(tenant, identity as never);
  const eventsOf = async (customerId: string) => (await seed.log.readStream(customerStream(tenant, customerId))).map((e) => ({ type: e.type, data: e.data }));

  before(async () => {
    const { kafkaBrokers } = infrastructure();
    backend = ferretBackend();
    running = await startTestHistory(backend, { PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','), PARLEY_KAFKA_NAMESPACE: namespace });
    client = new (parleyService('CustomerService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    seed = await backend.seed();
    kafka = new Kafka({ clientId: 'shop', brokers: kafkaBrokers, logLevel: logLevel.NOTHING });
    producer = kafka.producer();
    await producer.connect();
    deadLetters = kafka.consumer({ groupId: uniqueName('context-dlq') });
    await deadLetters.connect();
    await deadLetters.subscribe({ topic: `${topic}.dead-letter`, fromBeginning: true });
    await deadLetters.run({
      eachMessage: async ({ message }) =>
        void dead.push({
          key: message.key?.toString() ?? '',
          error: message.headers?.['parley_dlq_error']?.toString() ?? '',
          code: message.headers?.['parley_dlq_error_code']?.toString() ?? '',
        }),
    });
  });
  after(async () => {
    await deadLetters.disconnect();
    await producer.disconnect();
    client.close();
    await seed.close();
    await running.close();
    await backend.cleanup();
  });

  it('registers the customer the shop names, records the profile and each order status once, however often a record comes again', async () => {
    const identity = { kind: 'external', id: `shop-${randomUUID().slice(0, 8)}` };
    const key = `${tenant}:${identity.kind}:${identity.id}`;
    const order = {
      orderId: 'A-2001',
      placedAt: '2026-12-01T10:00:00.000Z',
      status: 'paid',
      items: [{ sku: 'MUG', name: 'Mug', quantity: 2, unitPrice: { amountMinor: 1250, currency: 'EUR' } }],
      total: { amountMinor: 2500, currency: 'EUR' },
      url: 'https://shop.example/admin/orders/A-2001',
    };
    const at = new Date().toISOString();
    await publish(key, 'parley.customer.profile-changed', {
      tenantId: tenant,
      identity,
      profile: { name: 'Bea Kurz', locale: 'de-AT', attributes: { vip: true } },
      at,
    });
    await publish(key, 'parley.customer.order-changed', { tenantId: tenant, identity, order, at });
    // At least once: the shop sends both again, then the order's next status.
    await publish(key, 'parley.customer.profile-changed', { tenantId: tenant, identity, profile: { name: 'Bea Kurz' }, at });
    await publish(key, 'parley.customer.order-changed', { tenantId: tenant, identity, order, at });
    await publish(key, 'parley.customer.order-changed', { tenantId: tenant, identity, order: { ...order, status: 'shipped' }, at });
    const customerId = await waitFor(
      () => customerOf(identity),
      (id) => id !== null,
      { what: 'the customer registered', timeoutMs: 30_000 },
    );
    const events = await waitFor(
      () => eventsOf(customerId!),
      (e) => e.filter((x) => x.type === 'customer.order-recorded').length >= 2,
      { what: 'the shipped status recorded', timeoutMs: 30_000 },
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ['customer.registered', 'customer.identity-linked', 'customer.profile-updated', 'customer.order-recorded', 'customer.order-recorded'],
    );
    const profile = events[2]!.data as { name: string; locale: string; source: string };
    assert.deepEqual([profile.name, profile.locale, profile.source], ['Bea Kurz', 'de-AT', 'kafka']);
    assert.deepEqual(
      events.slice(3).map((e) => (e.data as { status: string; source: string }).status),
      ['paid', 'shipped'],
    );
    // Agents see it through the API.
    const { customer } = await rpc<{ customer: { profile: { name: string; locale: string } } }>(
      client,
      'GetCustomer',
      { customer_id: customerId },
      await bearer(tenant),
    );
    assert.deepEqual([customer.profile.name, customer.profile.locale], ['Bea Kurz', 'de-AT']);
  });

  it('sets aside what breaks its schema or its limits, with the reason, writes nothing of it, and records the record behind it', async () => {
    const identity = { kind: 'email', id: `${randomUUID().slice(0, 8)}@example.com` };
    const key = `${tenant}:${identity.kind}:${identity.id}`;
    const at = new Date().toISOString();
    const order = { orderId: 'B-1', placedAt: at, status: 'placed', items: [], total: { amountMinor: 100, currency: 'euro' } };
    const tooMany = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`attribute_${i}`, i]));
    await publish(key, 'parley.customer.order-changed', { tenantId: tenant, identity, order, at });
    await publish(key, 'parley.customer.profile-changed', { tenantId: tenant, identity, profile: { name: 'X' }, at }, { ce_schemaversion: '2' });
    await publish(key, 'parley.customer.loyalty-changed', { tenantId: tenant, identity, at });
    await publish(key, 'parley.customer.profile-changed', '{"not json');
    await publish(key, 'parley.customer.profile-changed', { tenantId: tenant, identity: { kind: 'whatsapp', id: 'US.1' }, profile: { name: 'X' }, at });
    await publish(key, 'parley.customer.profile-changed', { tenantId: tenant, identity, profile: { attributes: tooMany }, at });
    await publish(key, 'parley.customer.profile-changed', { tenantId: tenant, identity, profile: { name: 'Y' }, at }, { ce_tenantid: 'brand-b' });
    await publish(key, 'parley.customer.order-changed', { tenantId: tenant, identity, order: { ...order, total: { amountMinor: 100, currency: 'EUR' } }, at });
    // The directory holds the identity a moment before the customer's stream has its events.
    const customerId = await waitFor(
      () => customerOf(identity),
      (id) => id !== null,
      { what: 'the customer registered', timeoutMs: 30_000 },
    );
    await waitFor(
      () => eventsOf(customerId!),
      (e) => e.some((x) => x.type === 'customer.order-recorded'),
      { what: 'the good order recorded', timeoutMs: 30_000 },
    );
    const mine = await waitFor(
      () => dead.filter((d) => d.key === key),
      (d) => d.length === 7,
      { what: 'seven records set aside', timeoutMs: 30_000 },
    );
    const reasons = mine.map((d) => d.error);
    assert.match(reasons[0]!, /order\.total\.currency/);
    assert.match(reasons[1]!, /schema version 2/);
    assert.match(reasons[2]!, /unknown ce_type/);
    assert.match(reasons[3]!, /not JSON/);
    assert.match(reasons[4]!, /identity/);
    assert.match(reasons[5]!, /attributes/);
    assert.match(reasons[6]!, /ce_tenantid/);
    assert.ok(mine.every((d) => d.code === 'CUSTOMER_CONTEXT_MALFORMED'));
    // Only the good order: the refused records wrote nothing.
    assert.deepEqual(
      (await eventsOf(customerId!)).map((e) => e.type),
      ['customer.registered', 'customer.identity-linked', 'customer.order-recorded'],
    );
  });
});
