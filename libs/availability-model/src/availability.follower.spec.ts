import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { agentDecider } from '@parley/availability-domain';
import { EVENT_CONTRACTS, eventsTopic, streams } from '@parley/contracts';
import { DeciderStore, type EventLog } from '@parley/event-log';
import { KafkaBus } from '@parley/message-bus';
import { runBusConsumer } from '@parley/message-bus/testing';
import { createLogger, Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { followAvailability, type AvailabilityFollowing } from './availability.follower';
import { AvailabilityModel } from './availability.model';

/**
 * An instance's availability model fed by Kafka in a group of its own: rebuilt
 * from the log, then the bus; its own writes visible before the append returns;
 * a record that is no event passed over (logged and counted, not dead-lettered by
 * every replica) without stopping what comes behind it.
 */
describe('the availability model followed on Kafka (FerretDB, Kafka)', () => {
  const { mongoUrl, kafkaBrokers } = infrastructure();
  const database = uniqueName('parley_follower').replace(/-/g, '_');
  const namespace = `${uniqueName('follower')}.`;
  const tenant = `t${randomBytes(4).toString('hex')}`;
  const label = 'parley-test-availability-model';
  const logger = createLogger('follower-test');
  const registry = new Registry();
  let bus: KafkaBus;
  let storage: Storage;
  let model: AvailabilityModel;
  let onBus: AvailabilityFollowing;
  let consuming: { close(): Promise<void> };

  const setOnline = (log: EventLog, agentId: string) =>
    new DeciderStore({ log, decider: agentDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1 }).handle(
      streams.agent(tenant, agentId),
      { type: 'SetPresence', agentId, presence: 'online', reason: 'manual', at: new Date().toISOString() },
      { tenantId: tenant, metadata: {} },
    );
  const online = () =>
    model
      .present()
      .filter((p) => p.tenantId === tenant)
      .map((p) => p.agentId)
      .sort();

  before(async () => {
    bus = new KafkaBus({ brokers: kafkaBrokers, clientId: 'follower-test', namespace, registry, logger });
    await bus.ensureTopics([{ name: eventsTopic('agent'), partitions: 3 }]);
    // Every append is published by its writer, as the services do.
    storage = await openStorage(
      {
        PARLEY_STORE: 'mongo',
        PARLEY_SQLITE_FILE: '',
        PARLEY_MONGO_URL: mongoUrl,
        PARLEY_MONGO_DATABASE: database,
        PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
      },
      new Registry(),
      { publish: { bus, logger } },
    );
    // Written before the follower starts: known from the rebuild.
    await setOnline(storage.log, 'before-start');
    model = new AvailabilityModel(storage.raw, logger);
    onBus = await followAvailability(model, { bus, log: storage.raw, group: { label, instance: randomUUID() } });
    // Through Nest, as the services run it: the transport rebuilds the model when it starts.
    consuming = await runBusConsumer(onBus.consumer!);
  });
  after(async () => {
    await consuming.close();
    await onBus.stop();
    await storage.close();
    await bus.close();
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  it('knows what the log held at start, what the bus brings after, and its own writes at once', async () => {
    assert.deepEqual(online(), ['before-start']);
    // Another instance's write: it arrives through Kafka.
    await setOnline(storage.log, 'from-another-instance');
    await waitFor(online, (agents) => agents.includes('from-another-instance'), { what: 'the bus event in the model', timeoutMs: 30_000 });
    // This instance's write through the follower's writers: in the model before the append returns.
    await setOnline(onBus.writers(storage.log), 'own-write');
    assert.ok(online().includes('own-write'), 'read-your-write');
  });

  it('passes over a record that is no event, counted under the group label, no dead letter, and goes on with what follows', async () => {
    const topic = eventsTopic('agent');
    const dead: string[] = [];
    const reader = await bus.subscribe({
      groupId: uniqueName('dlq-reader'),
      topics: [`${topic}.dead-letter`],
      handler: async (m) => void dead.push(m.value?.toString() ?? ''),
    });
    // All on one key, so one partition: the good event is behind the bad record.
    const key = streams.agent(tenant, 'behind-the-bad-record');
    await bus.publish(topic, [{ key, value: 'not an event', headers: { ce_type: 'agent.presence-changed' } }]);
    await setOnline(storage.log, 'behind-the-bad-record');
    await waitFor(online, (agents) => agents.includes('behind-the-bad-record'), { what: 'the event behind the bad record', timeoutMs: 60_000 });
    const skipped = (await registry.getSingleMetric('parley_bus_skipped_messages_total')!.get()).values;
    assert.deepEqual(
      skipped.map((v) => [v.labels['group'], v.labels['topic'], v.value]),
      [[label, topic, 1]],
    );
    // A dead letter would have been written before the consumer moved on: behind this marker, nothing else.
    await bus.publish(`${topic}.dead-letter`, [{ key: 'marker', value: 'marker' }]);
    await waitFor(
      () => dead,
      (d) => d.includes('marker'),
      { what: 'the marker', timeoutMs: 30_000 },
    );
    assert.deepEqual(dead, ['marker']);
    await reader.close();
  });
});
