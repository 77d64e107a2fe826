import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { INGRESS_TOPICS, streams } from '@parley/contracts';
import { CustomerDirectory } from '@parley/customer-directory';
import { deriveKey } from '@parley/event-log';
import { KafkaBus, type IncomingMessage } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { loadIngressConfig } from '../config/ingress.config';
import { startIngress, type RunningIngress } from '../ingress.app';
import { CHANNELS, ferretStore, postMeta, whatsappMessage, type StoreBackend } from '../testing/ingress.fixture';

describe('ingress: webhooks answered once on Kafka, recorded by the owner of the customer’s partition (Kafka, FerretDB)', () => {
  let backend: StoreBackend;
  let ingress: RunningIngress;
  let storage: Storage;
  let directory: CustomerDirectory;
  let bus: KafkaBus;
  const namespace = `${uniqueName('inbound')}.`;

  const messagesOf = async (userId: string) => {
    const customerId = await directory.find('brand-a', { kind: 'whatsapp', id: userId });
    if (!customerId) return [];
    const events = await storage.log.readStream(streams.conversation('brand-a', customerId));
    return events.filter((e) => e.type === 'conversation.message-received').map((e) => (e.data as { text: string }).text);
  };

  before(async () => {
    const { kafkaBrokers } = infrastructure();
    backend = ferretStore();
    ingress = await startIngress(
      loadIngressConfig({
        ...backend.env,
        PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
        PARLEY_INGRESS_HTTP_PORT: '0',
        PARLEY_CHANNELS: JSON.stringify(CHANNELS),
        PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','),
        PARLEY_KAFKA_NAMESPACE: namespace,
      }),
      { registry: new Registry() },
    );
    storage = await openStorage(loadIngressConfig(backend.env), new Registry());
    directory = new CustomerDirectory(storage.log, deriveKey(storage.masterKey, 'identity-claims'));
    bus = new KafkaBus({ brokers: kafkaBrokers, clientId: 'inbound-topic-spec', namespace, registry: new Registry() });
  });
  after(async () => {
    await bus.close();
    await ingress.close();
    await storage.close();
    await backend.cleanup();
  });

  it('answers 200 with what it accepted, records each message once and in order, a redelivered webhook included', async () => {
    const userId = `US.${randomUUID().slice(0, 8)}`;
    const bodies = ['first', 'second', 'third'].map((text, i) => whatsappMessage({ userId, wamid: `wamid.${userId}.${i}`, text }));
    for (const body of bodies) {
      const answer = await postMeta(ingress.httpPort, 'whatsapp', body);
      assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, { accepted: 1 }]);
    }
    // Meta delivers the second one again (it did not hear our answer).
    assert.equal((await postMeta(ingress.httpPort, 'whatsapp', bodies[1])).status, 200);
    await waitFor(
      () => messagesOf(userId),
      (texts) => texts.length >= 3,
      { what: 'the three messages recorded', timeoutMs: 30_000 },
    );
    // The redelivery is on the customer's partition before the fourth message: once that one is recorded, the redelivery was handled.
    await postMeta(ingress.httpPort, 'whatsapp', whatsappMessage({ userId, wamid: `wamid.${userId}.3`, text: 'fourth' }));
    await waitFor(
      () => messagesOf(userId),
      (texts) => texts.includes('fourth'),
      { what: 'the fourth message recorded', timeoutMs: 30_000 },
    );
    assert.deepEqual(await messagesOf(userId), ['first', 'second', 'third', 'fourth']);
  });

  it('sets aside a record that breaks its schema, with the reason, and records the one behind it (records written by hand from the AsyncAPI document)', async () => {
    const dead: IncomingMessage[] = [];
    const dlq = await bus.subscribe({
      groupId: uniqueName('inbound-dlq'),
      topics: [`${INGRESS_TOPICS.inbound}.dead-letter`],
      handler: async (m) => void dead.push(m),
    });
    const userId = `US.${randomUUID().slice(0, 8)}`;
    const key = `brand-a:whatsapp:${userId}`;
    const headers = (version: string) => ({
      'content-type': 'application/json',
      ce_specversion: '1.0',
      ce_id: randomUUID(),
      ce_source: '/parley/tenants/brand-a',
      ce_type: 'parley.ingress.inbound-accepted',
      ce_time: new Date().toISOString(),
      ce_schemaversion: version,
      ce_tenantid: 'brand-a',
    });
    const at = new Date().toISOString();
    const good = {
      kind: 'message',
      tenantId: 'brand-a',
      channel: 'whatsapp',
      identity: { kind: 'whatsapp', id: userId },
      channelMessageId: `wamid.${userId}`,
      text: 'by hand',
      attachments: [],
      at,
    };
    await bus.publish(INGRESS_TOPICS.inbound, [
      { key, value: JSON.stringify({ ...good, channel: 'carrier-pigeon' }), headers: headers('1') },
      { key, value: JSON.stringify(good), headers: headers('2') },
      { key, value: JSON.stringify(good), headers: headers('1') },
    ]);
    await waitFor(
      () => messagesOf(userId),
      (texts) => texts.length === 1,
      { what: 'the good record recorded', timeoutMs: 30_000 },
    );
    await waitFor(
      () => dead.length,
      (n) => n === 2,
      { what: 'the two bad records set aside', timeoutMs: 30_000 },
    );
    assert.match(dead[0]!.headers['parley_dlq_error'] ?? '', /channel/);
    assert.match(dead[1]!.headers['parley_dlq_error'] ?? '', /version 1/);
    assert.equal(dead[0]!.headers['parley_dlq_error_code'], 'INBOUND_RECORD_MALFORMED');
    await dlq.close();
  });
});
