import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { agentDecider } from '@parley/availability-domain';
import { EVENT_CONTRACTS, STREAM_CATEGORIES, eventsTopic, streams } from '@parley/contracts';
import { DeciderStore, OutboxRelay } from '@parley/event-log';
import { KafkaBus } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { openStorage } from '@parley/storage';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { loadRoutingConfig } from '../config/routing.config';

/** A routing service's settings on the test FerretDB and Kafka: a database and Kafka namespace of its own (no other spec's backlog in its groups). */
export function routingEnv(name: string, secret: string, settings: Record<string, string> = {}) {
  const { kafkaBrokers, mongoUrl } = infrastructure();
  return {
    PARLEY_STORE: 'mongo',
    PARLEY_MONGO_URL: mongoUrl,
    PARLEY_MONGO_DATABASE: uniqueName(`parley_${name}`).replace(/-/g, '_'),
    PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
    PARLEY_TOKEN_SECRETS: secret,
    PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','),
    PARLEY_KAFKA_NAMESPACE: `${uniqueName(name)}.`,
    PARLEY_ROUTING_GRPC_ADDRESS: '127.0.0.1:0',
    PARLEY_ROUTING_HTTP_PORT: '0',
    PARLEY_ROUTING_TICK_MS: '300',
    ...settings,
  };
}

/**
 * What a routing spec runs beside the service: the store, a bus in the spec's
 * namespace with the events topics, and a relay that publishes what the spec
 * writes by hand as any service's writes are published. `close` drops the database.
 */
export async function routingWorld(env: ReturnType<typeof routingEnv>, clientId: string) {
  const storage = await openStorage(loadRoutingConfig(env), new Registry());
  const bus = new KafkaBus({ brokers: env.PARLEY_KAFKA_BROKERS.split(','), clientId, namespace: env.PARLEY_KAFKA_NAMESPACE, registry: new Registry() });
  await bus.ensureTopics(STREAM_CATEGORIES.map((c) => ({ name: eventsTopic(c), partitions: 12 })));
  const relay = new OutboxRelay({ log: storage.raw, bus, sweepIntervalMs: 100, sweepAgeMs: 0 });
  relay.start();
  return {
    storage,
    bus,
    /** Agents online with these skills and live-chat capacity. */
    async online(tenant: string, agents: readonly { readonly agentId: string; readonly skills?: readonly string[]; readonly liveChats: number }[]) {
      const store = new DeciderStore({ log: storage.log, decider: agentDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1 });
      const at = new Date().toISOString();
      for (const { agentId, skills = [], liveChats } of agents) {
        const stream = streams.agent(tenant, agentId);
        await store.handle(
          stream,
          { type: 'SetCapacity', agentId, liveChats, messaging: 10, skills: [...skills], languages: [], at },
          { tenantId: tenant, metadata: {} },
        );
        await store.handle(stream, { type: 'SetPresence', agentId, presence: 'online', reason: 'manual', at }, { tenantId: tenant, metadata: {} });
      }
    },
    async close() {
      await relay.stop();
      await bus.close();
      await storage.close();
      const mongo = await MongoClient.connect(env.PARLEY_MONGO_URL);
      await mongo.db(env.PARLEY_MONGO_DATABASE).dropDatabase();
      await mongo.close();
    },
  };
}
