import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { isOpen } from '@parley/availability-domain';
import { GrpcEdge, ServiceApplication, TokenVerifier } from '@parley/grpc-edge';
import { HealthRegistry, collectProcessMetrics, createLogger, defaultRegistry, gauge, type Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { LogLease } from '@parley/event-log';
import { SharedHeartbeats } from './presence/shared.heartbeats';
import { BusErrorFilter, KafkaBus } from '@parley/message-bus';
import type { AvailabilityConfig } from './config/availability.config';
import { AvailabilityGrpc } from './grpc/availability.grpc';
import { AvailabilityModel, followAvailability, InvitationWriter } from '@parley/availability-model';

export interface RunningAvailability {
  readonly grpcPort: number;
  readonly httpPort: number;
  close(): Promise<void>;
}

/** The availability service: its state rebuilt from the log at start, then following it. */
export async function startAvailability(
  config: AvailabilityConfig,
  options: { registry?: Registry; health?: HealthRegistry; httpHost?: string; storage?: Storage } = {},
): Promise<RunningAvailability> {
  const logger = createLogger('availability');
  const registry = options.registry ?? defaultRegistry();
  if (!options.registry) collectProcessMetrics(registry);
  // Composed in one process (npm start), every service reports to the process's one registry.
  const health = options.health ?? new HealthRegistry();
  // Presence and capacity changes reach other services on Kafka (parley.agent.events...),
  // published by this instance as soon as they are appended. Composed with the others in
  // one process (npm start), the composition publishes for all.
  const bus =
    !options.storage && config.PARLEY_KAFKA_BROKERS
      ? new KafkaBus({
          brokers: config.PARLEY_KAFKA_BROKERS.split(',').map((b) => b.trim()),
          clientId: 'parley-availability',
          namespace: config.PARLEY_KAFKA_NAMESPACE,
          registry,
          logger,
        })
      : null;
  // Shared when several services run in one process (npm start): one SQLite connection.
  const storage =
    options.storage ?? (await openStorage(config, registry, bus ? { publish: { bus, logger, loop: (name) => health.loop(`availability:${name}`) } } : {}));
  // No personal data in what this service reads: the log as stored is enough.
  const model = new AvailabilityModel(storage.raw, logger);
  const instance = randomUUID();
  // With Kafka: rebuilt from the log, then fed by the bus in a group of this replica's own
  // (every replica holds the whole model). Alone (npm start): following the log.
  const following = await followAvailability(model, {
    bus,
    log: storage.raw,
    group: { label: 'parley-availability-model', instance },
    progress: health.loop('availability:model'),
  });
  const log = following.writers(storage.log);
  const present = gauge(registry, { name: 'parley_agents', help: 'Agents by presence, all tenants.', labelNames: ['presence'] as const });
  const queuesOpen = gauge(registry, {
    name: 'parley_queues_open',
    help: 'Queues within their business hours now, by queue id (summed over tenants).',
    labelNames: ['queue'] as const,
  });
  const queuesUnstaffed = gauge(registry, {
    name: 'parley_queues_unstaffed',
    help: 'Queues within their business hours with no agent of their tenant online, by queue id (summed over tenants).',
    labelNames: ['queue'] as const,
  });

  // Heard by any replica, known to all; lost heartbeats are swept by one replica at a time.
  const heartbeats = new SharedHeartbeats(bus, instance, logger);
  await heartbeats.start();
  const sweeper = new LogLease({ log: storage.raw, name: 'presence-sweeper', logger, registry, progress: health.loop('availability:presence-lease') });
  sweeper.start();
  const edge = new GrpcEdge(new TokenVerifier({ keys: config.PARLEY_TOKEN_SECRETS.split(',').map((s) => s.trim()), audience: config.PARLEY_TOKEN_AUDIENCE }), {
    logger,
    registry,
  });
  const api = new AvailabilityGrpc(log, model, new InvitationWriter(log, model, registry), edge, heartbeats, config.PARLEY_AVAILABILITY_TICK_MS);
  // Agents whose heartbeat stopped turn away, then offline. Only those this instance heard from.
  const sweepLoop = health.loop('availability:presence-sweep');
  const sweep = setInterval(
    () => {
      sweepLoop.beat();
      const now = Date.now();
      const counts = { online: 0, away: 0 };
      const staffed = new Set<string>();
      const sweeping = sweeper.held();
      for (const { tenantId, agentId, presence } of model.present()) {
        counts[presence === 'online' ? 'online' : 'away']++;
        if (presence === 'online') staffed.add(tenantId);
        if (!sweeping) continue;
        const last = heartbeats.get(`${tenantId}/${agentId}`);
        // Present in the log but never heard by this replica (it has just started, or its
        // desktop went quiet before): the clock starts now, so nobody stays online for ever.
        if (last === undefined) {
          heartbeats.set(`${tenantId}/${agentId}`, now);
          continue;
        }
        const next = now - last > config.PARLEY_PRESENCE_OFFLINE_AFTER_MS ? 'offline' : now - last > config.PARLEY_PRESENCE_AWAY_AFTER_MS ? 'away' : null;
        if (next && next !== presence) {
          if (next === 'offline') heartbeats.delete(`${tenantId}/${agentId}`);
          void api
            .setPresence(tenantId, agentId, next, 'heartbeat-lost', 'parley')
            .catch((error: unknown) => logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not record a lost heartbeat'));
        }
      }
      present.set({ presence: 'online' }, counts.online);
      present.set({ presence: 'away' }, counts.away);
      measureQueues(new Date(now).toISOString(), staffed);
    },
    Math.min(1000, Math.floor(config.PARLEY_PRESENCE_AWAY_AFTER_MS / 2)),
  );

  /** `staffed`: the tenants with an agent online, from the sweep's own pass over presence. */
  function measureQueues(at: string, staffed: ReadonlySet<string>): void {
    const open = new Map<string, number>();
    const unstaffed = new Map<string, number>();
    for (const { tenantId, queueId, queue } of model.queues()) {
      open.set(queueId, open.get(queueId) ?? 0);
      unstaffed.set(queueId, unstaffed.get(queueId) ?? 0);
      if (!isOpen(queue.hours, at)) continue;
      open.set(queueId, open.get(queueId)! + 1);
      if (!staffed.has(tenantId)) unstaffed.set(queueId, unstaffed.get(queueId)! + 1);
    }
    for (const [queue, n] of open) queuesOpen.set({ queue }, n);
    for (const [queue, n] of unstaffed) queuesUnstaffed.set({ queue }, n);
  }

  const consumers = [following.consumer, heartbeats.consumer].filter((c) => c !== null);
  health.addReadinessCheck('event-log', async () => ({ ok: (await storage.raw.streamVersion('parley-health')) >= 0 }));
  health.addReadinessCheck('heartbeats', async () => ({ ok: heartbeats.running() }));
  health.addReadinessCheck('availability-model', async () => ({ ok: following.running() }));

  const app = await ServiceApplication.create({
    logger,
    registry,
    health,
    grpc: [{ service: 'AvailabilityService', handlers: api.handlers() }],
    drainMs: 2000,
    controllers: consumers.map((c) => c.controller),
    beforePortsClose: async () => {
      clearInterval(sweep);
      await sweeper.stop();
    },
    afterPortsClose: async () => {
      await following.stop();
      if (!options.storage) await storage.close();
      await bus?.close();
    },
  });
  // The model is rebuilt from the log as its consumer starts; then the bus carries it on.
  for (const consumer of consumers) await app.connect(consumer.transport, { filters: [new BusErrorFilter()] });
  logger.info({ position: model.checkpoint }, 'availability rebuilt from the log');
  const grpc = await app.serveGrpc({ address: config.PARLEY_AVAILABILITY_GRPC_ADDRESS, services: ['AvailabilityService'] });
  const httpPort = await app.listen(config.PARLEY_AVAILABILITY_HTTP_PORT, options.httpHost ?? '0.0.0.0');
  logger.info({ grpcPort: grpc.port, httpPort }, 'availability service running');
  return { grpcPort: grpc.port, httpPort, close: () => app.close() };
}
