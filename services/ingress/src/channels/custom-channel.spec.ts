import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { CHANNEL_TOPICS, EVENT_CONTRACTS, streams } from '@parley/contracts';
import { SCHEMAS_DIR } from '@parley/contracts-docs';
import { CustomerDirectory } from '@parley/customer-directory';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION } from '@parley/conversation';
import { DeciderStore, deriveKey } from '@parley/event-log';
import { KafkaBus, type IncomingMessage } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { infrastructure, waitFor } from '@parley/testing-support';
import { loadIngressConfig } from '../config/ingress.config';
import { startIngress, type RunningIngress } from '../ingress.app';
import { ferretStore, type StoreBackend } from '../testing/ingress.fixture';

const SAMPLE = join(__dirname, '..', '..', '..', '..', 'samples', 'sms-gateway', 'dist', 'sms-gateway.js');

describe('ingress: a custom channel over Kafka, end to end with the sample SMS gateway (Kafka, FerretDB)', () => {
  let backend: StoreBackend;
  let ingress: RunningIngress;
  let storage: Storage;
  let directory: CustomerDirectory;
  let gateway: ChildProcess;
  let bus: KafkaBus;
  const lines: string[] = [];
  const tenant = `sms-${randomUUID().slice(0, 8)}`;
  let gatewayPort = 0;

  before(async () => {
    const { kafkaBrokers } = infrastructure();
    backend = ferretStore();
    ingress = await startIngress(
      loadIngressConfig({ ...backend.env, PARLEY_INGRESS_HTTP_HOST: '127.0.0.1', PARLEY_INGRESS_HTTP_PORT: '0', PARLEY_KAFKA_BROKERS: kafkaBrokers.join(',') }),
      { registry: new Registry() },
    );
    storage = await openStorage(loadIngressConfig(backend.env), new Registry());
    directory = new CustomerDirectory(storage.log, deriveKey(storage.masterKey, 'identity-claims'));
    bus = new KafkaBus({ brokers: kafkaBrokers, clientId: 'custom-channel-spec', registry: new Registry() });
    gateway = spawn(process.execPath, [SAMPLE], {
      env: { ...process.env, SMS_GATEWAY_BROKERS: kafkaBrokers.join(','), SMS_GATEWAY_TENANT: tenant, SMS_GATEWAY_PORT: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    gateway.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
    const listening = await waitFor(
      () => lines.find((l) => l.includes('listening')),
      (line) => line !== undefined,
      { what: 'the sample gateway', timeoutMs: 30_000 },
    );
    gatewayPort = (JSON.parse(listening!) as { listening: number }).listening;
  });
  after(async () => {
    // A gateway that already exited (it failed to start) has nothing to wait for.
    if (gateway.exitCode === null && gateway.signalCode === null) {
      const exited = new Promise((r) => gateway.once('exit', r));
      gateway.kill('SIGTERM');
      await exited;
    }
    await bus.close();
    await ingress.close();
    await storage.close();
    await backend.cleanup();
  });

  it("an SMS comes in through the gateway, the agent's reply goes out through it, and its delivery comes back", async () => {
    const sms = await fetch(`http://127.0.0.1:${gatewayPort}/sms`, {
      method: 'POST',
      body: JSON.stringify({ from: '+4915112345678', text: 'Do you ship to Austria?', id: 'sms-1' }),
    });
    assert.equal(sms.status, 204);
    const customerId = await waitFor(
      () => directory.find(tenant, { kind: 'sms', id: '+4915112345678' }),
      (id) => id !== null,
      { what: 'the SMS recorded', timeoutMs: 30_000 },
    );
    const stream = streams.conversation(tenant, customerId!);
    const received = await waitFor(
      async () => (await storage.log.readStream(stream)).find((e) => e.type === 'conversation.message-received'),
      (e) => e !== undefined,
      { what: 'the message', timeoutMs: 30_000 },
    );
    assert.equal((received!.data as { text: string; channel: string }).text, 'Do you ship to Austria?');

    await ingress.recorder.conversations.handle(
      stream,
      { type: 'SendMessage', messageId: 'reply-sms-1', author: { kind: 'agent', agentId: 'agent-1' }, text: 'Yes, in 3 days.', at: new Date().toISOString() },
      { tenantId: tenant, metadata: { subjectId: customerId! } },
    );
    await waitFor(
      () => lines.find((l) => l.includes('reply-sms-1')),
      (l) => l !== undefined,
      { what: 'the gateway sending the reply', timeoutMs: 30_000 },
    );
    assert.deepEqual(JSON.parse(lines.find((l) => l.includes('reply-sms-1'))!), {
      sent: { to: '+4915112345678', text: 'Yes, in 3 days.', messageId: 'reply-sms-1' },
    });
    const receipt = await waitFor(
      async () => (await storage.log.readStream(stream)).find((e) => e.type === 'conversation.receipt-recorded'),
      (e) => e !== undefined,
      { what: 'the delivery receipt', timeoutMs: 30_000 },
    );
    assert.deepEqual(
      { status: (receipt!.data as { status: string }).status, messageId: (receipt!.data as { messageId: string }).messageId },
      { status: 'delivered', messageId: 'reply-sms-1' },
    );
  });

  it('never sends a private note over SMS: the reply written after it goes out alone', async () => {
    const customerId = (await directory.find(tenant, { kind: 'sms', id: '+4915112345678' }))!;
    const stream = streams.conversation(tenant, customerId);
    const envelope = { tenantId: tenant, metadata: { subjectId: customerId } };
    const secret = 'internal: check the Austrian VAT first';
    await ingress.recorder.conversations.handle(
      stream,
      { type: 'AddNote', noteId: 'note-sms', agentId: 'agent-1', text: secret, at: new Date().toISOString() },
      envelope,
    );
    await ingress.recorder.conversations.handle(
      stream,
      {
        type: 'SendMessage',
        messageId: 'reply-after-note',
        author: { kind: 'agent', agentId: 'agent-1' },
        text: 'VAT is included.',
        at: new Date().toISOString(),
      },
      envelope,
    );
    // One conversation's replies go out in its order: once this one is out, the note before it was passed over.
    await waitFor(
      () => lines.find((l) => l.includes('reply-after-note')),
      (l) => l !== undefined,
      { what: 'the reply after the note sent', timeoutMs: 30_000 },
    );
    assert.ok(!lines.some((l) => l.includes(secret)), 'the gateway never received the note');
  });

  it("sends a conversation's replies in its order even when Kafka carries them out of it", async () => {
    const customerId = (await directory.find(tenant, { kind: 'sms', id: '+4915112345678' }))!;
    const stream = streams.conversation(tenant, customerId);
    const envelope = { tenantId: tenant, metadata: { subjectId: customerId } };
    // The first reply is written by an instance that dies before publishing it (only the outbox sweep
    // publishes it, seconds later); the second, written just after by another instance, reaches Kafka first.
    const silent = new DeciderStore({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    });
    const send = (messageId: string, text: string) => ({
      type: 'SendMessage' as const,
      messageId,
      author: { kind: 'agent' as const, agentId: 'agent-1' },
      text,
      at: new Date().toISOString(),
    });
    await silent.handle(stream, send('reply-order-1', 'First: we ship to Austria.'), envelope);
    await ingress.recorder.conversations.handle(stream, send('reply-order-2', 'Second: it takes 3 days.'), envelope);
    const sent = await waitFor(
      () => lines.filter((l) => l.includes('reply-order-')).map((l) => (JSON.parse(l) as { sent: { messageId: string } }).sent.messageId),
      (ids) => ids.length >= 2,
      { what: 'both replies sent', timeoutMs: 30_000 },
    );
    assert.deepEqual(sent, ['reply-order-1', 'reply-order-2'], 'in the order they were written');
  });

  it('sends a message that breaks its schema to the dead letters, and goes on', async () => {
    const dead: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      groupId: `dlq-${randomUUID()}`,
      topics: [`${CHANNEL_TOPICS.inbound}.dead-letter`],
      handler: async (m) => void dead.push(m),
      fromBeginning: true,
    });
    const id = randomUUID();
    await bus.publish(CHANNEL_TOPICS.inbound, [
      {
        key: 'x',
        value: JSON.stringify({
          tenantId: tenant,
          channel: 'sms',
          identity: { kind: 'sms', id: 'not a phone number' },
          channelMessageId: 'bad',
          text: 'x',
          at: new Date().toISOString(),
        }),
        headers: { ce_type: 'parley.channel.message-received', ce_id: id, ce_specversion: '1.0', ce_source: 'urn:test' },
      },
    ]);
    const letter = await waitFor(
      () => dead.find((m) => m.headers['ce_id'] === id),
      (m) => m !== undefined,
      { what: 'the dead letter', timeoutMs: 30_000 },
    );
    assert.match(letter!.headers['parley_dlq_error'] ?? '', /identity/);
    assert.equal(letter!.headers['parley_dlq_attempts'], '1');
    await sub.close();
  });

  it('refuses a CloudEvent of another spec version and a message with neither text nor attachment, as the published schema says, and records the good one behind them', async () => {
    const dead: IncomingMessage[] = [];
    const sub = await bus.subscribe({
      groupId: `dlq-${randomUUID()}`,
      topics: [`${CHANNEL_TOPICS.inbound}.dead-letter`],
      handler: async (m) => void dead.push(m),
      fromBeginning: true,
    });
    const record = (id: string, specversion: string, body: Record<string, unknown>) => ({
      key: '+4915100000001',
      value: JSON.stringify({ tenantId: tenant, channel: 'sms', identity: { kind: 'sms', id: '+4915100000001' }, at: new Date().toISOString(), ...body }),
      headers: { ce_type: 'parley.channel.message-received', ce_id: id, ce_specversion: specversion, ce_source: 'urn:test' },
    });
    const [old, empty, good] = [randomUUID(), randomUUID(), randomUUID()];
    // Written by hand from the AsyncAPI document: binary-mode CloudEvents, the data as JSON.
    await bus.publish(CHANNEL_TOPICS.inbound, [
      record(old, '0.3', { channelMessageId: `old-${old}`, text: 'from a 0.3 producer' }),
      record(empty, '1.0', { channelMessageId: `empty-${empty}` }),
      record(good, '1.0', { channelMessageId: `good-${good}`, text: 'the one that counts' }),
    ]);
    const letters = await waitFor(
      () => [old, empty].map((id) => dead.find((m) => m.headers['ce_id'] === id)),
      (l) => l.every((m) => m !== undefined),
      { what: 'both dead letters', timeoutMs: 30_000 },
    );
    assert.match(letters[0]!.headers['parley_dlq_error'] ?? '', /ce_specversion must be 1.0/);
    assert.match(letters[1]!.headers['parley_dlq_error'] ?? '', /text or an attachment/);
    const customerId = await waitFor(
      () => directory.find(tenant, { kind: 'sms', id: '+4915100000001' }),
      (c) => c !== null,
      { what: 'the good message recorded', timeoutMs: 30_000 },
    );
    // The customer is registered before their message is appended: wait for the message itself.
    const texts = await waitFor(
      async () =>
        (await storage.log.readStream(streams.conversation(tenant, customerId!)))
          .filter((e) => e.type === 'conversation.message-received')
          .map((e) => (e.data as { text: string }).text),
      (t) => t.length > 0,
      { what: 'the good message in its conversation', timeoutMs: 30_000 },
    );
    assert.deepEqual(texts, ['the one that counts']);
    // The published JSON Schema says the same (ajv, as an integration would validate).
    const schema = JSON.parse(readFileSync(join(SCHEMAS_DIR, 'parley.channel.message-received.v1.json'), 'utf8')) as object;
    const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(schema);
    assert.equal(
      validate({ tenantId: tenant, channel: 'sms', identity: { kind: 'sms', id: '+4915100000001' }, channelMessageId: 'x', at: new Date().toISOString() }),
      false,
    );
    await sub.close();
  });
});
