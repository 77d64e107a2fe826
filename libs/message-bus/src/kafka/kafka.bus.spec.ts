import { Registry } from '@parley/observability';
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { messageBusContract } from '../testing/message-bus.contract';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { DEAD_LETTER_HEADERS } from '../message-bus.port';
import { KafkaBus } from './kafka.bus';

messageBusContract('Kafka', async () => {
  const { kafkaBrokers } = infrastructure();
  // The broker's minimum session timeout is 6 s; a 9 s handler would be kicked
  // out if nothing heartbeated while it ran.
  const registry = new Registry();
  const open = (r = new Registry()) => new KafkaBus({ brokers: kafkaBrokers, registry: r, sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 });
  const bus = open(registry);
  const others: KafkaBus[] = [];
  return {
    bus,
    registry,
    openAnother: async () => {
      const other = open();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      for (const o of others) await o.close();
      await bus.close();
    },
    slowerThanSessionMs: 9000,
  };
});

describe('Kafka: consumer lag per group', () => {
  it('reports the messages a group has not committed, from the brokers, while its handler is stuck and after it moves on', async () => {
    const registry = new Registry();
    const bus = new KafkaBus({ brokers: infrastructure().kafkaBrokers, registry });
    const topic = uniqueName('lag');
    const group = uniqueName('lag-group');
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    try {
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await bus.publish(
        topic,
        [1, 2, 3, 4, 5].map((i) => ({ key: 'k', value: String(i) })),
      );
      const subscription = await bus.subscribe({ groupId: group, topics: [topic], handler: async () => stuck });
      const lagOf = async () => {
        const values = (await registry.getSingleMetric('parley_bus_consumer_lag_messages')!.get()).values;
        return values.find((v) => v.labels['group'] === group && v.labels['topic'] === topic)?.value;
      };
      assert.equal(await waitFor(lagOf, (lag) => lag === 5, { what: 'all five behind while the first is stuck', timeoutMs: 30_000 }), 5);
      release();
      assert.equal(await waitFor(lagOf, (lag) => lag === 0, { what: 'caught up once released', timeoutMs: 30_000 }), 0);
      await subscription.close();
    } finally {
      release();
      await bus.close();
    }
  });
});

describe('Kafka: a record too large to dead-letter as it came', () => {
  it('dead-letters a 2 MB gzip-compressed record as a reference (reason, topic, partition, offset), and the record behind it is handled', async () => {
    const registry = new Registry();
    const bus = new KafkaBus({ brokers: infrastructure().kafkaBrokers, registry });
    const topic = uniqueName('oversized');
    const handled: string[] = [];
    // A producer Parley did not configure: plain kafkajs, gzip, as an integration may send.
    const producer = new Kafka({ brokers: infrastructure().kafkaBrokers, clientId: 'outside-producer', logLevel: logLevel.NOTHING }).producer();
    try {
      await bus.ensureTopics([
        { name: topic, partitions: 1 },
        { name: `${topic}.dead-letter`, partitions: 1 },
      ]);
      await producer.connect();
      await producer.send({
        topic,
        compression: CompressionTypes.GZIP,
        messages: [
          { key: 'k', value: Buffer.alloc(2 * 1024 * 1024, 'a') },
          { key: 'k', value: 'good' },
        ],
      });
      const subscription = await bus.subscribe({
        groupId: uniqueName('oversized-group'),
        topics: [topic],
        handler: async (message) => {
          if ((message.value?.length ?? 0) > 1024 * 1024) throw Object.assign(new Error('value too large for this handler'), { retryable: false });
          handled.push(message.value!.toString());
        },
      });
      await waitFor(
        () => handled,
        (h) => h.length === 1,
        { what: 'the record behind the large one', timeoutMs: 30_000 },
      );
      assert.deepEqual(handled, ['good']);
      assert.ok(subscription.running(), 'the consumer did not crash');
      // The dead letter, read as an operator would: the reference, no payload.
      const dead: { value: Buffer | null; headers: Record<string, string> }[] = [];
      const reader = new Kafka({ brokers: infrastructure().kafkaBrokers, clientId: 'dead-letter-reader', logLevel: logLevel.NOTHING }).consumer({
        groupId: uniqueName('dead-letter-reader'),
      });
      await reader.connect();
      await reader.subscribe({ topics: [`${topic}.dead-letter`], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ message }) =>
          void dead.push({ value: message.value, headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])) }),
      });
      await waitFor(
        () => dead.length,
        (n) => n === 1,
        { what: 'the dead letter', timeoutMs: 30_000 },
      );
      await reader.disconnect();
      assert.equal(dead[0]!.value, null);
      assert.equal(dead[0]!.headers[DEAD_LETTER_HEADERS.payloadOmitted], 'too-large');
      assert.equal(dead[0]!.headers[DEAD_LETTER_HEADERS.payloadBytes], String(2 * 1024 * 1024));
      assert.equal(dead[0]!.headers[DEAD_LETTER_HEADERS.topic], topic);
      assert.equal(dead[0]!.headers[DEAD_LETTER_HEADERS.offset], '0');
      assert.match(dead[0]!.headers[DEAD_LETTER_HEADERS.error]!, /value too large for this handler/);
      await subscription.close();
    } finally {
      await producer.disconnect();
      await bus.close();
    }
  });
});

describe('Kafka: a consumer that crashes', () => {
  it('is made anew after an error Kafka does not retry, and takes the message again', async () => {
    const registry = new Registry();
    const bus = new KafkaBus({ brokers: infrastructure().kafkaBrokers, registry });
    const topic = uniqueName('crash');
    const handled: string[] = [];
    let refuseDeadLetters = false;
    let poisonSeen = 0;
    try {
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await bus.publish(topic, [
        { key: 'k', value: 'poison' },
        { key: 'k', value: 'good' },
      ]);
      const subscription = await bus.subscribe({
        groupId: uniqueName('crash-group'),
        topics: [topic],
        // The dead-letter topic exists when subscribing; the first dead letter goes to a name the broker refuses outright.
        deadLetterTopic: (t) => (refuseDeadLetters ? `${t} not a topic!` : `${t}.dead-letter`),
        handler: async (message) => {
          if (message.value?.toString() === 'poison') {
            poisonSeen++;
            refuseDeadLetters = poisonSeen === 1;
            throw Object.assign(new Error('cannot take this one'), { retryable: false });
          }
          handled.push(message.value!.toString());
        },
      });
      await waitFor(
        () => handled,
        (h) => h.includes('good'),
        { what: 'the consumer made anew, past the poison', timeoutMs: 60_000 },
      );
      const crashed = (await registry.getSingleMetric('parley_bus_consumer_crashes_total')!.get()).values.reduce((n, v) => n + v.value, 0);
      assert.equal(crashed, 1, 'one crash, one new consumer');
      assert.ok(subscription.running());
      await subscription.close();
      assert.equal(subscription.running(), false);
    } finally {
      await bus.close();
    }
  });
});

describe('Kafka: deployments in namespaces on one cluster', () => {
  it('keeps each namespace to its own topics and groups, under the names the application uses', async () => {
    const { kafkaBrokers } = infrastructure();
    const [a, b] = [uniqueName('ns-a'), uniqueName('ns-b')].map((n) => `${n}.`);
    const staging = new KafkaBus({ brokers: kafkaBrokers, registry: new Registry(), namespace: a });
    const production = new KafkaBus({ brokers: kafkaBrokers, registry: new Registry(), namespace: b });
    const topic = uniqueName('shared-name');
    const seen: { bus: string; topic: string; value: string }[] = [];
    const subscriptions = [
      await staging.subscribe({
        groupId: 'same-group',
        topics: [topic],
        handler: async (m) => void seen.push({ bus: 'staging', topic: m.topic, value: String(m.value) }),
      }),
      await production.subscribe({
        groupId: 'same-group',
        topics: [topic],
        handler: async (m) => void seen.push({ bus: 'production', topic: m.topic, value: String(m.value) }),
      }),
    ];
    const admin = staging.admin();
    await admin.connect();
    try {
      await staging.publish(topic, [{ key: 'k', value: 'for staging' }]);
      await production.publish(topic, [{ key: 'k', value: 'for production' }]);
      await waitFor(
        () => seen.length,
        (n) => n >= 2,
        { what: 'both messages' },
      );
      // The last message of each namespace is its own: nothing crossed over before it.
      await staging.publish(topic, [{ key: 'k', value: 'staging, last' }]);
      await waitFor(
        () => seen.filter((s) => s.value === 'staging, last').length,
        (n) => n === 1,
        { what: 'the last message' },
      );
      assert.deepEqual(
        seen.sort((x, y) => x.value.localeCompare(y.value)),
        [
          { bus: 'production', topic, value: 'for production' },
          { bus: 'staging', topic, value: 'for staging' },
          { bus: 'staging', topic, value: 'staging, last' },
        ],
      );
      const names = new Set(await admin.listTopics());
      assert.ok(names.has(`${a}${topic}`) && names.has(`${b}${topic}`) && !names.has(topic), 'the topics on the cluster carry the namespace');
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      assert.ok(groups.includes(`${a}same-group`) && groups.includes(`${b}same-group`));
    } finally {
      await admin.disconnect();
      for (const s of subscriptions) await s.close();
      await staging.close();
      await production.close();
    }
  });
});
