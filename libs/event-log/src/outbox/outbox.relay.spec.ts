import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { InProcessBus, KafkaBus, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import { contextFrom, inSpan, Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import type { RecordedEvent } from '../event-envelope';
import { InMemoryStreamVersionStore, StreamDeliveryGuard } from '../delivery/stream-delivery.guard';
import type { EventLog } from '../event-log.port';
import { MongoEventLog } from '../mongo/mongo.event-log';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';
import { fromCloudEventMessage } from './cloud-event.mapping';
import { OutboxRelay } from './outbox.relay';
import { publishingEventLog } from './publishing.event-log';

/** A consumer as services write them: decode, then deduplicate and fill gaps per stream. */
async function consume(bus: MessageBus, topic: string, log: EventLog) {
  const raw: RecordedEvent[] = [];
  const applied: RecordedEvent[] = [];
  const guard = new StreamDeliveryGuard(log, new InMemoryStreamVersionStore());
  const subscription = await bus.subscribe({
    groupId: uniqueName('relay-consumer'),
    topics: [topic],
    handler: async (message: IncomingMessage) => {
      const event = fromCloudEventMessage(message);
      raw.push(event);
      await guard.deliver(event, async (e) => void applied.push(e));
    },
  });
  return { raw, applied, subscription };
}

function runCrashingWriter(env: Record<string, string>): Promise<{ ids: string[]; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(__dirname, '..', 'testing', 'crash-appender.js')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      try {
        resolve({ ids: (JSON.parse(out.trim()) as { ids: string[] }).ids, signal });
      } catch (error) {
        reject(new Error(`crashing writer printed no ids: ${out} (${String(error)})`));
      }
    });
  });
}

describe('outbox relay on SQLite and the in-process bus', () => {
  it('publishes appended events as CloudEvents keyed by stream, in order, and marks them', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const bus = new InProcessBus({ registry: new Registry() });
    const topic = uniqueName('relay');
    const relay = new OutboxRelay({ log, bus, topicFor: () => topic });
    const writer = publishingEventLog(log, relay);
    const consumer = await consume(bus, topic, log);
    await writer.append('conversation-1', [{ type: 'test.opened', tenantId: 't', data: { a: 1 } }], 'no_stream');
    await writer.append(
      'conversation-1',
      [
        { type: 'test.noted', tenantId: 't', data: { b: 2 } },
        { type: 'test.noted', tenantId: 't', data: { c: 3 } },
      ],
      1,
    );
    await writer.append('conversation-2', [{ type: 'test.opened', tenantId: 't', data: {} }], 'no_stream');
    await waitFor(
      () => consumer.applied.length,
      (n) => n === 4,
      { what: 'four events' },
    );
    assert.deepEqual(
      consumer.applied.filter((e) => e.streamId === 'conversation-1').map((e) => [e.streamVersion, e.data]),
      [
        [1, { a: 1 }],
        [2, { b: 2 }],
        [3, { c: 3 }],
      ],
    );
    assert.deepEqual(consumer.applied.find((e) => e.streamId === 'conversation-2')?.type, 'test.opened');
    const stored = await log.readStream('conversation-1');
    assert.deepEqual(
      consumer.applied.filter((e) => e.streamId === 'conversation-1'),
      stored,
      'the envelope survives the trip',
    );
    await waitFor(
      () => log.readUnpublished({ limit: 10 }),
      (p) => p.length === 0,
      { what: 'all marked' },
    );
    await relay.stop();
    await consumer.subscription.close();
    await log.close();
  });

  it('keeps the trace an append happened in with its events, and continues it on Kafka, after the request is long gone', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const bus = new InProcessBus({ registry: new Registry() });
    const topic = uniqueName('relay-trace');
    const relay = new OutboxRelay({ log, bus, topicFor: () => topic });
    const headers: Record<string, string>[] = [];
    const subscription = await bus.subscribe({ groupId: uniqueName('g'), topics: [topic], handler: async (m) => void headers.push(m.headers) });
    const trace = '5d3b8e1f0c2a4b6d8e0f1a2b3c4d5e6f';
    await inSpan('SendMessage', 'server', contextFrom({ traceparent: `00-${trace}-1111111111111111-01` }), () =>
      log.append('conversation-9', [{ type: 'test.noted', tenantId: 't', data: {} }], 'no_stream'),
    );
    const [stored] = await log.readStream('conversation-9');
    assert.match(String(stored!.metadata['traceparent']), new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`), 'the event remembers its trace');
    relay.start();
    await waitFor(
      () => headers.length,
      (n) => n === 1,
      { what: 'the relayed event' },
    );
    assert.equal(headers[0]!['traceparent'], stored!.metadata['traceparent'], 'the Kafka message continues it (W3C header)');
    await relay.stop();
    await subscription.close();
    await log.close();
  });

  it('lets a consumer that missed events read them from the log', async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    await log.append(
      'conversation-9',
      [1, 2, 3].map((i) => ({ type: 'test.noted', tenantId: 't', data: { i } })),
      'no_stream',
    );
    const [e1, , e3] = await log.readStream('conversation-9');
    const guard = new StreamDeliveryGuard(log, new InMemoryStreamVersionStore());
    const applied: number[] = [];
    const apply = async (e: RecordedEvent) => void applied.push(e.streamVersion);
    assert.equal(await guard.deliver(e1!, apply), 'applied');
    assert.equal(await guard.deliver(e3!, apply), 'gap-filled');
    assert.equal(await guard.deliver(e1!, apply), 'duplicate');
    assert.equal(await guard.deliver(e3!, apply), 'duplicate');
    assert.deepEqual(applied, [1, 2, 3]);
    await log.close();
  });
});

describe('publication without loss, with a writer killed mid-way (FerretDB and Kafka)', () => {
  let mongoUrl: string;
  let brokers: string[];
  const database = uniqueName('parley_crash').replace(/-/g, '_');
  let log: MongoEventLog;
  let bus: KafkaBus;
  before(async () => {
    ({ mongoUrl, kafkaBrokers: brokers } = infrastructure());
    log = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
    bus = new KafkaBus({ brokers, registry: new Registry() });
  });
  after(async () => {
    await bus.close();
    await log.close();
    const client = await MongoClient.connect(mongoUrl);
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('publishes after restart what was appended before the crash, and consumers see it once', async () => {
    const topic = uniqueName('crash.before-publish');
    const stream = uniqueName('conversation');
    const consumer = await consume(bus, topic, log);
    const { ids, signal } = await runCrashingWriter({ CRASH_DATABASE: database, CRASH_STREAM: stream, CRASH_COUNT: '5', CRASH_MODE: 'before-publish' });
    assert.equal(signal, 'SIGKILL');
    const pending = await log.readUnpublished({ limit: 100 });
    assert.deepEqual(
      pending.filter((e) => e.streamId === stream).map((e) => e.id),
      ids,
      'appended but never published',
    );

    const relay = new OutboxRelay({ log, bus, topicFor: () => topic, sweepIntervalMs: 200 });
    relay.start();
    await waitFor(
      () => consumer.applied.length,
      (n) => n === 5,
      { what: 'five events after restart', timeoutMs: 60_000 },
    );
    await relay.stop();
    assert.deepEqual(
      consumer.applied.map((e) => e.id),
      ids,
    );
    assert.deepEqual(
      consumer.applied.map((e) => e.streamVersion),
      [1, 2, 3, 4, 5],
    );
    assert.deepEqual(
      (await log.readUnpublished({ limit: 100 })).filter((e) => e.streamId === stream),
      [],
    );
    await consumer.subscription.close();
  });

  it('republishes what was published but not marked; consumers deduplicate to exactly once', async () => {
    const topic = uniqueName('crash.after-publish');
    const stream = uniqueName('conversation');
    const consumer = await consume(bus, topic, log);
    const { ids, signal } = await runCrashingWriter({
      CRASH_DATABASE: database,
      CRASH_STREAM: stream,
      CRASH_COUNT: '4',
      CRASH_MODE: 'after-publish',
      CRASH_TOPIC: topic,
    });
    assert.equal(signal, 'SIGKILL');
    await waitFor(
      () => consumer.raw.length,
      (n) => n >= 4,
      { what: 'the first publication', timeoutMs: 60_000 },
    );

    const relay = new OutboxRelay({ log, bus, topicFor: () => topic, sweepIntervalMs: 200 });
    relay.start();
    await waitFor(
      () => consumer.raw.length,
      (n) => n >= 8,
      { what: 'the republication', timeoutMs: 60_000 },
    );
    await relay.stop();
    assert.equal(consumer.raw.length, 8, 'each event delivered twice');
    assert.deepEqual(
      consumer.applied.map((e) => e.id),
      ids,
      'and handled once',
    );
    await consumer.subscription.close();
  });
});

describe('outbox relay: one topic that cannot be published to', () => {
  it("leaves that topic's events for the next pass and publishes every other topic's behind them, in order, with metrics", async () => {
    const log = new SqliteEventLog({ filename: ':memory:', registry: new Registry() });
    const inner = new InProcessBus({ registry: new Registry() });
    const down = new Set(['parley.routing.events']);
    const published: { topic: string; type: string }[] = [];
    const bus: MessageBus = {
      publish: async (topic, messages) => {
        if (down.has(topic)) throw new Error('This server does not host this topic-partition');
        for (const m of messages) published.push({ topic, type: String(m.headers?.['ce_type']) });
        await inner.publish(topic, messages);
      },
      subscribe: (options) => inner.subscribe(options),
      ensureTopics: (topics) => inner.ensureTopics(topics),
      endOffsets: (topics) => inner.endOffsets(topics),
      close: () => inner.close(),
    };
    const registry = new Registry();
    const relay = new OutboxRelay({ log, bus, registry, batchSize: 2 });
    const value = async (name: string, labels: Record<string, string> = {}) =>
      (await registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l))?.value;
    try {
      // The routing events come first, and fill more than one page of the relay.
      await log.append(
        'routing-t-q1',
        [
          { type: 'routing.first', tenantId: 't', data: {} },
          { type: 'routing.second', tenantId: 't', data: {} },
          { type: 'routing.third', tenantId: 't', data: {} },
        ],
        'no_stream',
      );
      await log.append(
        'conversation-t-c1',
        [
          { type: 'conversation.one', tenantId: 't', data: {} },
          { type: 'conversation.two', tenantId: 't', data: {} },
        ],
        'no_stream',
      );
      await log.append('agent-t-a1', [{ type: 'agent.one', tenantId: 't', data: {} }], 'no_stream');
      await assert.rejects(relay.sweep(), { name: 'OutboxTopicsFailedError' });
      assert.deepEqual(
        published.map((p) => p.type),
        ['conversation.one', 'conversation.two', 'agent.one'],
        'the others went out behind the failing topic',
      );
      assert.deepEqual(
        (await log.readUnpublished({ limit: 10 })).map((e) => e.type),
        ['routing.first', 'routing.second', 'routing.third'],
      );
      assert.equal(await value('parley_outbox_pending_events'), 3);
      assert.ok((await value('parley_outbox_oldest_pending_seconds'))! >= 0);
      assert.ok((await value('parley_outbox_publish_failures_total', { topic: 'parley.routing.events' }))! >= 1);
      // The topic comes back: the next pass publishes its events, in their order, and nothing twice.
      down.clear();
      assert.equal(await relay.sweep(), 3);
      assert.deepEqual(
        published.map((p) => p.type),
        ['conversation.one', 'conversation.two', 'agent.one', 'routing.first', 'routing.second', 'routing.third'],
      );
      assert.equal(await value('parley_outbox_pending_events'), 0);
      assert.equal(await value('parley_outbox_oldest_pending_seconds'), 0);
    } finally {
      await relay.stop();
      await bus.close();
      await log.close();
    }
  });
});
