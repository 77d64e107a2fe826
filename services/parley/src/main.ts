import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { startAvailability } from '@parley/availability/app';
import { loadAvailabilityConfig } from '@parley/availability/config';
import { startHistory } from '@parley/history/app';
import { loadHistoryConfig } from '@parley/history/config';
import { startIngress } from '@parley/ingress/app';
import { loadIngressConfig } from '@parley/ingress/config';
import { startRouting } from '@parley/routing/app';
import { loadRoutingConfig } from '@parley/routing/config';
import { InProcessBus, KafkaBus } from '@parley/message-bus';
import {
  HealthRegistry,
  ObservabilityModule,
  PinoNestLogger,
  collectProcessMetrics,
  createLogger,
  defaultRegistry,
  exitGracefullyOnSignals,
  serveFirst,
} from '@parley/observability';
import { openStorage } from '@parley/storage';
import { demoTokens, seedDemo } from './demo.seed';
import { SIMULATOR, WhatsAppSimulatorController, type SimulatorSettings } from './simulator/whatsapp.simulator';
import { IngressProxy, isIngressPath } from './http/ingress.proxy';
import { CONSOLE_BACKENDS, ConsoleController, type ConsoleBackends } from './console/api.gateway';
import { loadConfig } from './parley.config';

/** The demo tenant's widget may run on any page served from this machine (another port, a local test site). */
const DEMO_WIDGET_ORIGINS = JSON.stringify({ demo: ['http://localhost:*', 'http://127.0.0.1:*'] });

/** A secret made on first start and kept in the data folder, unless the environment gives one. */
function secret(dataDir: string, name: string, given: string | undefined, make: () => string): string {
  if (given) return given;
  const file = join(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, make(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

/**
 * `npm start`: Parley in one process, on the SQLite event log (kept in
 * PARLEY_DATA_DIR across restarts) and the in-process bus: the history
 * (public gRPC API), availability, routing and ingress services, the same code that runs
 * alone per service over Kafka and MongoDB in production, sharing one store.
 */
async function main(): Promise<void> {
  const logger = createLogger('parley');
  const config = loadConfig();
  const registry = defaultRegistry();
  collectProcessMetrics(registry);
  const health = new HealthRegistry();

  mkdirSync(config.dataDir, { recursive: true });
  const masterKey = secret(config.dataDir, 'master.key', process.env['PARLEY_MASTER_KEY'], () => randomBytes(32).toString('base64'));
  const tokenSecrets = secret(config.dataDir, 'token.secret', process.env['PARLEY_TOKEN_SECRETS'], () => randomBytes(32).toString('base64url'));
  // The demo site signs its users' ids with this (HS256 JWT, `sub` = its user id): the widget's signed identity.
  const identitySecrets = secret(
    config.dataDir,
    'identity.secret',
    process.env['PARLEY_IDENTITY_SECRETS'],
    () => `demo:${randomBytes(32).toString('base64url')}`,
  );
  const env = {
    ...process.env,
    PARLEY_STORE: 'sqlite',
    PARLEY_SQLITE_FILE: join(config.dataDir, 'events.db'),
    PARLEY_MASTER_KEY: masterKey,
    PARLEY_TOKEN_SECRETS: tokenSecrets,
    PARLEY_IDENTITY_SECRETS: identitySecrets,
  };
  const bus = new InProcessBus({ registry, logger });
  // Every event appended by any service reaches the bus as soon as it is appended, as Kafka would carry it.
  const storage = await openStorage(loadHistoryConfig(env), registry, { publish: { bus, logger, loop: (name) => health.loop(`parley:${name}`) } });
  let started = false;
  health.addReadinessCheck('services', async () => ({ ok: started }));
  health.addReadinessCheck('event-log', async () => ({ ok: (await storage.raw.streamVersion('parley-health')) >= 0 }));
  const seeded = await seedDemo(storage.log);
  // The process's own HTTP port first: the WhatsApp simulator on it is the ingress's Graph API.
  const simulator: SimulatorSettings = {
    appSecret: secret(config.dataDir, 'meta-app.secret', undefined, () => randomBytes(24).toString('base64url')),
    phoneNumberId: 'pn-demo',
    accessToken: 'demo-whatsapp-token',
    webhookUrl: () => `http://127.0.0.1:${ingressPort}/webhooks/whatsapp`,
  };
  let ingressPort = 0;
  // Filled in once the services listen; the console's gateway calls them over gRPC, as any client would.
  const addresses: Record<keyof ConsoleBackends['addresses'], string> = {
    ConversationService: '',
    CustomerService: '',
    AvailabilityService: '',
    RoutingService: '',
    CannedResponseService: '',
  };
  const backends: ConsoleBackends = {
    addresses,
    demoAgents: async () =>
      Object.entries(await demoTokens(tokenSecrets.split(',')[0]!.trim())).map(([who, token]) => ({
        agentId: who.replace(' (agent)', ''),
        token,
        role: who.endsWith('(agent)') ? 'agent' : 'supervisor',
      })),
  };
  @Module({
    imports: [ObservabilityModule.forRoot({ registry, health })],
    controllers: [ConsoleController, ...(config.simulator ? [WhatsAppSimulatorController] : [])],
    providers: [
      { provide: SIMULATOR, useValue: simulator },
      { provide: CONSOLE_BACKENDS, useValue: backends },
    ],
  })
  class ParleyModule {}
  const app = await NestFactory.create<NestExpressApplication>(ParleyModule, { logger: new PinoNestLogger(logger), bodyParser: false });
  // The console's gateway carries attachments as base64 in JSON: up to 10 MiB of bytes.
  app.useBodyParser('json', { limit: '15mb' });
  // One port for everything: the ingress's paths go through to it, the rest is this process's own.
  const proxy = new IngressProxy(() => ingressPort);
  const server = app.getHttpServer() as Server;
  serveFirst(server, (req, res) => {
    if (!isIngressPath(req.url) || !ingressPort) return false;
    proxy.forward(req, res);
    return true;
  });
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (proxy.checkContinue(req, res)) return;
    res.writeContinue();
    server.emit('request', req, res);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
    isIngressPath(req.url) && ingressPort ? proxy.upgrade(req, socket, head) : socket.destroy(),
  );
  await app.listen(config.httpPort, config.httpHost);
  const address = app.getHttpServer().address() as { port: number };
  const channels =
    process.env['PARLEY_CHANNELS'] ??
    (config.simulator
      ? JSON.stringify({
          meta: { appSecret: simulator.appSecret, verifyToken: 'demo-verify-token', appId: 'demo-app' },
          whatsapp: [{ phoneNumberId: simulator.phoneNumberId, tenantId: 'demo', accessToken: simulator.accessToken }],
          messenger: [],
          apple: [],
        })
      : undefined);
  const graph = process.env['PARLEY_GRAPH_BASE_URL'] ?? (config.simulator ? `http://127.0.0.1:${address.port}/simulator/graph/v23.0` : undefined);
  const shared = { registry, health, storage, httpHost: '127.0.0.1' };
  // The brand's systems' Kafka, when given: customer context comes from there, the rest stays in the process.
  const integration = config.integrationKafka
    ? new KafkaBus({ brokers: [...config.integrationKafka.brokers], clientId: 'parley', namespace: config.integrationKafka.namespace, registry, logger })
    : null;
  const history = await startHistory(
    loadHistoryConfig({ ...env, PARLEY_HISTORY_GRPC_ADDRESS: `${config.httpHost}:${config.grpcPort}`, PARLEY_HISTORY_HTTP_PORT: '0' }),
    { ...shared, ...(integration ? { contextBus: integration } : {}) },
  );
  const availability = await startAvailability(
    loadAvailabilityConfig({
      ...env,
      PARLEY_AVAILABILITY_GRPC_ADDRESS: `${config.httpHost}:${config.availabilityGrpcPort}`,
      PARLEY_AVAILABILITY_HTTP_PORT: '0',
    }),
    shared,
  );
  const routing = await startRouting(
    loadRoutingConfig({ ...env, PARLEY_ROUTING_GRPC_ADDRESS: `${config.httpHost}:${config.routingGrpcPort}`, PARLEY_ROUTING_HTTP_PORT: '0' }),
    { ...shared, bus },
  );
  const ingress = await startIngress(
    loadIngressConfig({
      ...env,
      ...(channels ? { PARLEY_CHANNELS: channels } : {}),
      ...(graph ? { PARLEY_GRAPH_BASE_URL: graph } : {}),
      PARLEY_INGRESS_HTTP_HOST: config.httpHost,
      PARLEY_INGRESS_HTTP_PORT: String(config.ingressHttpPort),
      PARLEY_WIDGET_ORIGINS: process.env['PARLEY_WIDGET_ORIGINS'] ?? DEMO_WIDGET_ORIGINS,
    }),
    { registry, health, storage, bus },
  );
  ingressPort = ingress.httpPort;
  const local = (port: number) => `127.0.0.1:${port}`;
  Object.assign(addresses, {
    ConversationService: local(history.grpcPort),
    CustomerService: local(history.grpcPort),
    CannedResponseService: local(history.grpcPort),
    AvailabilityService: local(availability.grpcPort),
    RoutingService: local(routing.grpcPort),
  });
  started = true;

  const host = config.httpHost === '0.0.0.0' ? 'localhost' : config.httpHost;
  const base = `http://${host}:${address.port}`;
  logger.info({ http: base, dataDir: config.dataDir, seeded }, 'Parley is running');
  const tokens = await demoTokens(tokenSecrets.split(',')[0]!.trim());
  process.stdout.write(
    [
      '',
      'Parley is running',
      `  health        ${base}/healthz  ${base}/readyz`,
      `  metrics       ${base}/metrics`,
      `  gRPC API      ${host}:${history.grpcPort}  (parley.v1 conversations, customers, events; reflection on)`,
      `  availability  ${host}:${availability.grpcPort}  (parley.v1.AvailabilityService)`,
      `  routing       ${host}:${routing.grpcPort}  (parley.v1.RoutingService)`,
      `  channels      ${base}/webhooks/…  ${base.replace('http', 'ws')}/live  (the ingress, also on its own port ${ingress.httpPort})`,
      `  widget        ${base}/demo  (the demo page; script at /widget.js)`,
      `  console       ${base}/console  (the reference agent console; its gateway: POST ${base}/api/<Service>/<Method>)`,
      ...(config.simulator ? [`  simulator     ${base}/simulator  (WhatsApp without Meta: signed webhooks in, the replies shown)`] : []),
      `  data          ${config.dataDir}  (token secret in token.secret; the demo site's identity secret in identity.secret)`,
      '',
      'Tenant "demo", queue "support" (08:00-20:00 Europe/Berlin), agents demo-agent-1 and demo-agent-2.',
      'Bearer tokens for the demo tenant (authorization: Bearer <token>):',
      ...Object.entries(tokens).map(([who, token]) => `  ${who.padEnd(22)} ${token}`),
      '',
      '',
    ].join('\n'),
  );

  exitGracefullyOnSignals(
    async () => {
      health.markShuttingDown();
      // Stop taking work first, then finish and flush what was taken.
      await app.close();
      await ingress.close();
      await routing.close();
      await availability.close();
      await history.close();
      await storage.close();
      await bus.close();
      await integration?.close();
    },
    { logger, timeoutMs: config.shutdownTimeoutMs },
  );
}

main().catch((error: unknown) => {
  createLogger('parley').fatal(
    { err: error instanceof Error ? { name: error.name, message: error.message, details: (error as { details?: () => unknown }).details?.() } : String(error) },
    'Parley failed to start',
  );
  process.exit(1);
});
