import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { AvailabilityModel, followAvailability } from '@parley/availability-model';
import { GrpcEdge, ServiceApplication, TokenVerifier } from '@parley/grpc-edge';
import { BusErrorFilter, KafkaBus, type MessageBus } from '@parley/message-bus';
import { HealthRegistry, collectProcessMetrics, createLogger, defaultRegistry, type Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import type { RoutingConfig } from './config/routing.config';
import { RoutingEngine } from './engine/routing.engine';
import { RoutingWork } from './engine/routing.work';
import { RoutingWorkController } from './engine/routing-work.controller';
import { RoutingGrpc } from './grpc/routing.grpc';
import { RoutingRulesBook } from './rules/routing-rules.book';

export interface RunningRouting {
  readonly grpcPort: number;
  readonly httpPort: number;
  close(): Promise<void>;
}

/** The routing service: takes its queues' work from the bus, decides, and serves agents' accepts and transfers. */
export async function startRouting(
  config: RoutingConfig,
  options: { registry?: Registry; health?: HealthRegistry; httpHost?: string; storage?: Storage; bus?: MessageBus } = {},
): Promise<RunningRouting> {
  const logger = createLogger('routing');
  const registry = options.registry ?? defaultRegistry();
  if (!options.registry) collectProcessMetrics(registry);
  // Composed in one process (npm start), every service reports to the process's one registry.
  const health = options.health ?? new HealthRegistry();
  const ownBus = options.bus
    ? null
    : config.PARLEY_KAFKA_BROKERS
      ? new KafkaBus({
          brokers: config.PARLEY_KAFKA_BROKERS.split(',').map((b) => b.trim()),
          clientId: 'parley-routing',
          namespace: config.PARLEY_KAFKA_NAMESPACE,
          registry,
          logger,
        })
      : null;
  const bus = options.bus ?? ownBus;
  if (!bus) throw new Error('the routing service needs Kafka (PARLEY_KAFKA_BROKERS) or a bus from its composition');
  // Offers, assignments and transfers reach the others as soon as they are appended, published by this instance.
  const storage = options.storage ?? (await openStorage(config, registry, { publish: { bus, logger, loop: (name) => health.loop(`routing:${name}`) } }));
  const model = new AvailabilityModel(storage.raw, logger);
  // With its own Kafka: rebuilt from the log, then fed by the bus in a group of this replica's
  // own (every replica knows every agent). In one process with the others: following the log.
  const following = await followAvailability(model, {
    bus: ownBus,
    log: storage.raw,
    group: { label: 'parley-routing-availability-model', instance: randomUUID() },
    progress: health.loop('routing:availability-model'),
  });
  const writers = following.writers(storage.log);
  const engine = new RoutingEngine(
    writers,
    model,
    {
      strategy: config.PARLEY_ROUTING_STRATEGY,
      offerTimeoutSeconds: config.PARLEY_ROUTING_OFFER_TIMEOUT_SECONDS,
      stickySeconds: config.PARLEY_ROUTING_STICKY_SECONDS,
      escalation: [],
      requeueLiveOnOffline: config.PARLEY_ROUTING_REQUEUE_LIVE_ON_OFFLINE,
    },
    logger,
    registry,
  );
  // Which queue a conversation waits in: the tenant's rules, else its default queue, else this service's.
  const rules = new RoutingRulesBook(writers, config.PARLEY_ROUTING_QUEUE, registry);
  const work = new RoutingWork(bus, engine, rules, config.PARLEY_ROUTING_TICK_MS, logger, health.loop('routing:work'));
  await work.start();
  const edge = new GrpcEdge(new TokenVerifier({ keys: config.PARLEY_TOKEN_SECRETS.split(',').map((s) => s.trim()), audience: config.PARLEY_TOKEN_AUDIENCE }), {
    logger,
    registry,
  });
  health.addReadinessCheck('event-log', async () => ({ ok: (await storage.raw.streamVersion('parley-health')) >= 0 }));
  health.addReadinessCheck('consumers', async () => ({ ok: work.running() }));
  health.addReadinessCheck('availability-model', async () => ({ ok: following.running() }));

  const app = await ServiceApplication.create({
    logger,
    registry,
    health,
    grpc: [{ service: 'RoutingService', handlers: new RoutingGrpc(engine, work, edge, rules).handlers() }],
    controllers: [RoutingWorkController, ...(following.consumer ? [following.consumer.controller] : [])],
    providers: [{ provide: RoutingWork, useValue: work }],
    drainMs: 2000,
    afterPortsClose: async () => {
      // Leaving the group commits what was handled; the next owner of the partitions goes on from there.
      await work.stop();
      await following.stop();
      if (!options.storage) await storage.close();
      await ownBus?.close();
    },
  });
  // The consumers, through bus transports: the availability model first (rebuilt from the log as
  // it starts, then carried on by the bus), then RoutingWorkController's @EventPattern handlers.
  if (following.consumer) await app.connect(following.consumer.transport, { filters: [new BusErrorFilter()] });
  await app.connect(work.transport, { filters: [new BusErrorFilter()] });
  const grpc = await app.serveGrpc({ address: config.PARLEY_ROUTING_GRPC_ADDRESS, services: ['RoutingService'] });
  const httpPort = await app.listen(config.PARLEY_ROUTING_HTTP_PORT, options.httpHost ?? '0.0.0.0');
  logger.info({ grpcPort: grpc.port, httpPort }, 'routing service running');
  return { grpcPort: grpc.port, httpPort, close: () => app.close() };
}
