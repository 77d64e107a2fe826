import 'reflect-metadata';
import { EVENT_CONTRACTS, eventsTopic, type ConversationEvent } from '@parley/contracts';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION, type ConversationCommand, type ConversationState } from '@parley/conversation';
import { CustomerDirectory } from '@parley/customer-directory';
import { DeciderStore, deriveKey } from '@parley/event-log';
import { BusProjectionFeed, ProjectionRunner, type Projection } from '@parley/read-model';
import { openStorage, type Storage } from '@parley/storage';
import { GrpcEdge, ServiceApplication, TokenVerifier } from '@parley/grpc-edge';
import { BusErrorFilter, KafkaBus, type MessageBus } from '@parley/message-bus';
import { HealthRegistry, collectProcessMetrics, createLogger, defaultRegistry, type Registry } from '@parley/observability';
import { ConversationMetrics } from '@parley/conversation-metrics';
import type { HistoryConfig } from './config/history.config';
import { historyProjections } from './projections/history.projections';
import { ConversationsGrpc } from './conversations/conversations.grpc';
import { CustomersGrpc } from './customers/customers.grpc';
import { CustomerContextGrpc } from './customers/customer-context.grpc';
import { CustomerContext } from './customers/customer-context';
import {
  CUSTOMER_CONTEXT,
  CustomerContextTopicController,
  customerContextTransport,
  ensureCustomerContextTopic,
} from './customers/customer-context-topic.controller';
import { EventsGrpc } from './events/events.grpc';
import { AttachmentsGrpc } from './conversations/attachments.grpc';
import { CannedResponsesGrpc } from './workspace/canned-responses.grpc';

export interface RunningHistory {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Stops taking calls, finishes those in flight, closes the stores. */
  close(): Promise<void>;
}

/** The history service: the public gRPC API on `address`, health and metrics over HTTP. */
export async function startHistory(
  config: HistoryConfig,
  options: {
    registry?: Registry;
    health?: HealthRegistry;
    httpHost?: string;
    storage?: Storage;
    /** Composed (npm start) with the brand's Kafka: where customer context comes from (closed by its owner). */
    contextBus?: MessageBus;
  } = {},
): Promise<RunningHistory> {
  const logger = createLogger('history');
  const registry = options.registry ?? defaultRegistry();
  if (!options.registry) collectProcessMetrics(registry);
  // Composed in one process (npm start), every service reports to the process's one registry.
  const health = options.health ?? new HealthRegistry();
  // Shared when several services run in one process (npm start): one SQLite connection.
  // Alone, with Kafka, the service publishes what it appends (operators' notes, erasures, merges) itself.
  const bus =
    !options.storage && config.PARLEY_KAFKA_BROKERS
      ? new KafkaBus({
          brokers: config.PARLEY_KAFKA_BROKERS.split(',').map((b) => b.trim()),
          clientId: 'parley-history',
          namespace: config.PARLEY_KAFKA_NAMESPACE,
          registry,
          logger,
        })
      : null;
  const store =
    options.storage ?? (await openStorage(config, registry, bus ? { publish: { bus, logger, loop: (name) => health.loop(`history:${name}`) } } : {}));
  const log = store.log;
  const conversations = new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({
    log,
    decider: conversationDecider,
    contracts: EVENT_CONTRACTS,
    snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    snapshotEvery: 200,
    cacheSize: 10_000,
    onAppended: new ConversationMetrics(registry).onAppended,
  });
  const masterKey = store.masterKey;
  const directory = new CustomerDirectory(log, deriveKey(masterKey, 'identity-claims'));
  const rules = { botsCount: config.PARLEY_SLA_COUNT_BOTS };
  const projections = historyProjections(log, masterKey, rules);
  // With Kafka, each projection is fed by its consumer group: replicas split the
  // partitions, and each event is applied by one of them, in its stream's order.
  // Without (npm start), each follows the log.
  const runnerFor = (projection: Projection) =>
    new ProjectionRunner({
      log,
      store: store.readModels,
      projection,
      logger,
      registry,
      inStreamOrder: bus !== null,
      ...(bus ? {} : { progress: health.loop(`history:projection:${projection.name}`) }),
    });
  const runners = {
    list: runnerFor(projections.list),
    timeline: runnerFor(projections.timeline),
    search: runnerFor(projections.search),
    orders: runnerFor(projections.orders),
  };
  const feeds = bus
    ? (Object.keys(runners) as (keyof typeof runners)[]).map(
        (key) =>
          new BusProjectionFeed({
            bus,
            runner: runners[key],
            projection: projections[key],
            groupId: `parley-history-${projections[key].name}`,
            topics: topicsOf(projections[key]),
            open: (event) => log.openEvent(event),
            progress: health.loop(`history:projection:${projections[key].name}`),
          }),
      )
    : [];
  // Alive at once, ready only once caught up: a fresh replica answers from complete
  // read models, and a long replay is not mistaken for a hung process.
  health.addReadinessCheck('event-log', async () => ({ ok: (await store.raw.streamVersion('parley-health')) >= 0 }));
  health.addReadinessCheck('projections', () => {
    const behind = Object.entries(runners)
      .filter(([, r]) => !r.caughtUp)
      .map(([name]) => name);
    return behind.length === 0 ? { ok: true } : { ok: false, detail: `catching up: ${behind.join(', ')}` };
  });
  const identitySecrets = new Map(
    (config.PARLEY_IDENTITY_SECRETS ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)] as const),
  );
  const edge = new GrpcEdge(
    new TokenVerifier({
      keys: config.PARLEY_TOKEN_SECRETS.split(',').map((s) => s.trim()),
      audience: config.PARLEY_TOKEN_AUDIENCE,
      ...(config.PARLEY_TOKEN_ISSUER ? { issuer: config.PARLEY_TOKEN_ISSUER } : {}),
    }),
    { logger, registry },
  );
  const context = new CustomerContext(directory);
  const contextBus = options.contextBus ?? bus;
  if (contextBus) await ensureCustomerContextTopic(contextBus);
  const customers = new CustomersGrpc(log, directory, edge, { store: store.readModels, list: runners.list, orders: runners.orders, blobs: store.blobs }, (t) =>
    identitySecrets.get(t),
  );
  const app = await ServiceApplication.create({
    logger,
    registry,
    health,
    grpc: [
      {
        service: 'ConversationService',
        handlers: {
          ...new ConversationsGrpc(log, conversations, edge, {
            store: store.readModels,
            ...runners,
            searchKey: deriveKey(masterKey, 'search-index'),
            rules,
            customerLocale: async (tenantId, customerId) => (await customers.profileOf(tenantId, customerId)).profile.locale,
          }).handlers(),
          ...new AttachmentsGrpc(store.blobs, conversations, edge).handlers(),
        },
      },
      {
        service: 'CustomerService',
        handlers: {
          ...customers.handlers(),
          ...new CustomerContextGrpc(context, edge, (id, loaded) => customers.toProto(id, loaded)).handlers(),
        },
      },
      { service: 'EventService', handlers: new EventsGrpc(log, edge).handlers() },
      {
        service: 'CannedResponseService',
        handlers: new CannedResponsesGrpc(log, conversations, (tenantId, customerId) => customers.contextOf(tenantId, customerId), edge).handlers(),
      },
    ],
    controllers: [...feeds.map((f) => f.consumer.controller), ...(contextBus ? [CustomerContextTopicController] : [])],
    providers: [{ provide: CUSTOMER_CONTEXT, useValue: context }],
    afterPortsClose: async () => {
      for (const runner of Object.values(runners)) await runner.stop();
      if (!options.storage) await store.close();
      await bus?.close();
    },
  });
  // Alive at once, ready only once caught up: liveness and readiness answer during a long replay.
  const httpPort = await app.listen(config.PARLEY_HISTORY_HTTP_PORT, options.httpHost ?? '0.0.0.0');
  if (feeds.length > 0) {
    // A fresh generation is first applied from the log up to a recorded position; the bus carries on from there.
    for (const runner of Object.values(runners)) await runner.handOver();
    for (const feed of feeds) await app.connect(feed.consumer.transport, { filters: [new BusErrorFilter()] });
    health.addReadinessCheck('projection-consumers', () => ({ ok: feeds.every((f) => f.running()) }));
  } else {
    for (const runner of Object.values(runners)) {
      await runner.catchUp();
      runner.start();
    }
  }
  if (contextBus) {
    // The brand's profiles and orders (parley.customer.context); a consumer stuck past its retries fails liveness too.
    const transport = customerContextTransport(contextBus, health.loop('history:customer-context'));
    await app.connect(transport, { filters: [new BusErrorFilter()] });
    health.addReadinessCheck('customer-context', () => ({ ok: transport.running() }));
  }
  // The API opens once the read models are complete: the first answer is never from a half-built model.
  const grpc = await app.serveGrpc({
    address: config.PARLEY_HISTORY_GRPC_ADDRESS,
    services: ['ConversationService', 'CustomerService', 'EventService', 'CannedResponseService'],
    serialized: ['ConversationService'],
    ...(config.PARLEY_TLS_CERT_FILE && config.PARLEY_TLS_KEY_FILE
      ? {
          tls: {
            certFile: config.PARLEY_TLS_CERT_FILE,
            keyFile: config.PARLEY_TLS_KEY_FILE,
            ...(config.PARLEY_TLS_CLIENT_CA_FILE ? { clientCaFile: config.PARLEY_TLS_CLIENT_CA_FILE } : {}),
          },
        }
      : {}),
  });
  logger.info({ grpcPort: grpc.port, httpPort }, 'history service running');

  return { grpcPort: grpc.port, httpPort, close: () => app.close() };
}

/** The events topics that carry a projection's types (`conversation.` → parley.conversation.events). */
function topicsOf(projection: Projection): readonly string[] {
  if (!projection.types) throw new Error(`projection ${projection.name} must name its types to be fed from the bus`);
  return [...new Set(projection.types.map((t) => eventsTopic(t.slice(0, t.indexOf('.')) as Parameters<typeof eventsTopic>[0])))];
}
