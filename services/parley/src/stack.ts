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
 * `npm run stack`: the production topology on one machine. Each service runs
 * PARLEY_STACK_REPLICAS replicas (default 2), each in a process of its own, over
 * Kafka and MongoDB (FerretDB here: scripts/with-infra.sh starts both unless
 * PARLEY_KAFKA_BROKERS and PARLEY_MONGO_URL are given), as they do on
 * Kubernetes; this launcher only seeds the demo tenant, starts them, waits until
 * each is ready, and stops them all on Ctrl-C or SIGTERM. The first replica of a
 * service takes its usual ports, the others the next ones up.
 */
const SERVICES = ['history', 'availability', 'routing', 'ingress'] as const;
type Service = (typeof SERVICES)[number];
/** `<service>#<replica>` */
type Instance = `${Service}#${number}`;
const children = new Map<Instance, ChildProcess>();
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
  const replicas = Number(process.env['PARLEY_STACK_REPLICAS'] ?? '2');
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 8) throw new Error('PARLEY_STACK_REPLICAS must be a whole number from 1 to 8');
  const instances: Instance[] = SERVICES.flatMap((s) => Array.from({ length: replicas }, (_, i) => `${s}#${i}` as Instance));
  const ports = {} as Record<Instance, { grpc?: number; http: number }>;
  for (const instance of instances) {
    const [s, i] = [instance.split('#')[0] as Service, Number(instance.split('#')[1])];
    const base = DEFAULT_PORTS[s];
    // Replica i of a service: its usual ports plus 100 × i (50051, 50151, ...; 8082, 8182, ...).
    ports[instance] = random
      ? { ...(base.grpc ? { grpc: await freePort() } : {}), http: await freePort() }
      : { ...(base.grpc ? { grpc: base.grpc + 100 * i } : {}), http: base.http + 100 * i };
  }
  const host = '127.0.0.1';
  const envOf = (instance: Instance): Record<string, string> => {
    const s = instance.split('#')[0] as Service;
    const p = ports[instance]!;
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
  // A replica that dies is started again, as Kubernetes would; the stack stops only when asked.
  const launch = (instance: Instance) => {
    const s = instance.split('#')[0] as Service;
    const child = spawn(process.execPath, [require.resolve(`@parley/${s}`)], {
      env: { ...process.env, ...envOf(instance) },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code, signal) => {
      if (stopping) return;
      logger.warn({ instance, code, signal }, 'a replica stopped; starting it again');
      setTimeout(() => !stopping && launch(instance), 1000);
    });
    children.set(instance, child);
    const p = ports[instance]!;
    // One line per start, for people and for tests that kill replicas: `replica history#1 pid 123 http 8181 grpc 50151`.
    process.stdout.write(`replica ${instance} pid ${child.pid} http ${p.http}${p.grpc ? ` grpc ${p.grpc}` : ''}\n`);
  };
  for (const instance of instances) launch(instance);
  for (const instance of instances) {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ok = await fetch(`http://${host}:${ports[instance]!.http}/readyz`)
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline) throw new Error(`${instance} did not become ready within 90 s`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const list = (s: Service, show: (p: { grpc?: number; http: number }) => string) =>
    instances
      .filter((i) => i.startsWith(`${s}#`))
      .map((i) => show(ports[i]!))
      .join(', ');
  const tokens = await demoTokens(common.PARLEY_TOKEN_SECRETS.split(',')[0]!.trim());
  process.stdout.write(
    [
      '',
      `Parley stack is running: ${replicas} replica(s) of each of the four services, each in its own process, over Kafka and MongoDB`,
      `  Kafka         ${brokers}`,
      `  MongoDB       ${mongoUrl} (database ${common.PARLEY_MONGO_DATABASE})`,
      `  gRPC API      ${list('history', (p) => `${host}:${p.grpc}`)}  (history; health on ${list('history', (p) => `http://${host}:${p.http}/readyz`)})`,
      `  availability  ${list('availability', (p) => `${host}:${p.grpc}`)}  (health on ${list('availability', (p) => `http://${host}:${p.http}/readyz`)})`,
      `  routing       ${list('routing', (p) => `${host}:${p.grpc}`)}  (health on ${list('routing', (p) => `http://${host}:${p.http}/readyz`)})`,
      `  channels      ${list('ingress', (p) => `http://${host}:${p.http}`)}  (/webhooks/…, ws …/live, demo page /demo)`,
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
