import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { loadHistoryConfig } from '@parley/history/config';
import { Registry, createLogger } from '@parley/observability';
import { openStorage } from '@parley/storage';
import { demoTokens, seedDemo } from './demo.seed';

/**
 * `npm run stack`: the production topology on one machine. Each service runs in
 * a process of its own over Kafka and MongoDB (FerretDB here: scripts/with-infra.sh
 * starts both unless PARLEY_KAFKA_BROKERS and PARLEY_MONGO_URL are given), as
 * they do on Kubernetes; this launcher only seeds the demo tenant, starts them,
 * waits until each is ready, and stops them all on Ctrl-C or SIGTERM.
 */
const SERVICES = ['history', 'availability', 'routing', 'ingress'] as const;
type Service = (typeof SERVICES)[number];
const children = new Map<Service, ChildProcess>();
const DEFAULT_PORTS: Record<Service, { grpc?: number; http: number }> = {
  history: { grpc: 50051, http: 8081 },
  availability: { grpc: 50052, http: 8083 },
  routing: { grpc: 50053, http: 8084 },
  ingress: { http: 8082 },
};

function freePort(): Promise<number> {
  return new Promise((done) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => done(port));
    });
  });
}

function secret(dir: string, name: string, make: () => string): string {
  const file = join(dir, name);
  if (!existsSync(file)) writeFileSync(file, make(), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

async function main(): Promise<void> {
  const logger = createLogger('stack');
  const brokers = process.env['PARLEY_KAFKA_BROKERS'];
  const mongoUrl = process.env['PARLEY_MONGO_URL'];
  if (!brokers || !mongoUrl)
    throw new Error('PARLEY_KAFKA_BROKERS and PARLEY_MONGO_URL are required: run it with `npm run stack`, which starts Kafka and FerretDB');
  const dataDir = resolve(process.env['PARLEY_DATA_DIR'] ?? '.data-stack');
  mkdirSync(dataDir, { recursive: true });
  const common = {
    PARLEY_STORE: 'mongo',
    PARLEY_MONGO_URL: mongoUrl,
    PARLEY_MONGO_DATABASE: process.env['PARLEY_MONGO_DATABASE'] ?? 'parley',
    PARLEY_KAFKA_BROKERS: brokers,
    PARLEY_MASTER_KEY: process.env['PARLEY_MASTER_KEY'] ?? secret(dataDir, 'master.key', () => randomBytes(32).toString('base64')),
    PARLEY_TOKEN_SECRETS: process.env['PARLEY_TOKEN_SECRETS'] ?? secret(dataDir, 'token.secret', () => randomBytes(32).toString('base64url')),
    PARLEY_IDENTITY_SECRETS:
      process.env['PARLEY_IDENTITY_SECRETS'] ?? secret(dataDir, 'identity.secret', () => `demo:${randomBytes(32).toString('base64url')}`),
    // The demo tenant's widget may run on any local page, as with npm start.
    PARLEY_WIDGET_ORIGINS: process.env['PARLEY_WIDGET_ORIGINS'] ?? JSON.stringify({ demo: ['http://localhost:*', 'http://127.0.0.1:*'] }),
  };
  // The demo tenant, written as events into the shared log before anyone reads it.
  const storage = await openStorage(loadHistoryConfig({ ...process.env, ...common }), new Registry());
  await seedDemo(storage.log);
  await storage.close();

  const random = process.env['PARLEY_STACK_FREE_PORTS'] === 'true';
  const ports = {} as Record<Service, { grpc?: number; http: number }>;
  for (const s of SERVICES) ports[s] = random ? { ...(DEFAULT_PORTS[s].grpc ? { grpc: await freePort() } : {}), http: await freePort() } : DEFAULT_PORTS[s];
  const host = '127.0.0.1';
  const envOf = (s: Service): Record<string, string> => {
    const p = ports[s];
    const upper = s.toUpperCase();
    return {
      ...common,
      [`PARLEY_${upper}_HTTP_PORT`]: String(p.http),
      ...(p.grpc ? { [`PARLEY_${upper}_GRPC_ADDRESS`]: `${host}:${p.grpc}` } : {}),
      ...(s === 'ingress' ? { PARLEY_INGRESS_HTTP_HOST: host } : {}),
    };
  };
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const child of children.values()) child.kill('SIGTERM');
    await Promise.all([...children.values()].map((child) => (child.exitCode === null ? new Promise((r) => child.once('exit', r)) : null)));
    logger.info('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  for (const s of SERVICES) {
    const child = spawn(process.execPath, [require.resolve(`@parley/${s}`)], { env: { ...process.env, ...envOf(s) }, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('exit', (code) => {
      if (!stopping) {
        logger.error({ service: s, code }, 'a service stopped; stopping the stack');
        void stop(1);
      }
    });
    children.set(s, child);
  }
  for (const s of SERVICES) {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ok = await fetch(`http://${host}:${ports[s].http}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${s} did not become ready within 60 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const tokens = await demoTokens(common.PARLEY_TOKEN_SECRETS.split(',')[0]!.trim());
  process.stdout.write(
    [
      '',
      'Parley stack is running: four service processes over Kafka and MongoDB',
      `  Kafka         ${brokers}`,
      `  MongoDB       ${mongoUrl} (database ${common.PARLEY_MONGO_DATABASE})`,
      `  gRPC API      ${host}:${ports.history.grpc}  (history; health on http://${host}:${ports.history.http}/readyz)`,
      `  availability  ${host}:${ports.availability.grpc}  (health on http://${host}:${ports.availability.http}/readyz)`,
      `  routing       ${host}:${ports.routing.grpc}  (health on http://${host}:${ports.routing.http}/readyz)`,
      `  channels      http://${host}:${ports.ingress.http}/webhooks/…  ws://${host}:${ports.ingress.http}/live  (demo page: /demo)`,
      'Bearer tokens for the demo tenant:',
      ...Object.entries(tokens).map(([who, token]) => `  ${who.padEnd(22)} ${token}`),
      '',
      '',
    ].join('\n'),
  );
}

main().catch((error: unknown) => {
  createLogger('stack').fatal({ err: error instanceof Error ? error.message : String(error) }, 'the stack failed to start');
  for (const child of children.values()) child.kill('SIGTERM');
  process.exitCode = 1;
});
