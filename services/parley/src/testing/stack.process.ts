import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { join } from 'node:path';
import { Metadata, credentials, makeClientConstructor } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';

/** A client of one Parley gRPC service, made from the proto, as any integrator's. */
export type Client = Record<string, (request: unknown, metadata: Metadata, callback: (error: Error | null, response?: unknown) => void) => void> & {
  close(): void;
};

export const client = (service: Parameters<typeof parleyService>[0], address: string) =>
  new (makeClientConstructor(parleyService(service).service, `parley.v1.${service}`))(address, credentials.createInsecure()) as unknown as Client;

/** One unary call with a bearer token. */
export function call<T>(target: Client, method: string, request: unknown, token: string): Promise<T> {
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${token}`);
  return new Promise<T>((resolve, reject) =>
    target[method]!.call(target, request, metadata, (error, response) => (error ? reject(error) : resolve(response as T))),
  );
}

/**
 * Stops a stack started in its own process group, whatever the test did: SIGTERM,
 * at most 20 s for it to go, then SIGKILL to the group (no service may outlive the
 * test: their open pipes would hold the runner).
 */
export async function stopStack(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid!, 'SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 20_000))]);
  }
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}

/** One instance of a service in a running stack, as the launcher announced it. */
export interface StackReplica {
  readonly pid: number;
  readonly http: number;
  readonly grpc?: number;
}

export interface RunningStack {
  readonly child: ChildProcess;
  /** `ingress#0`, `routing#1`...: the latest start of each instance (the launcher restarts dead ones). */
  replica(instance: string): StackReplica;
  /** The demo tenant's tokens the stack printed, by name (`supervisor`, `demo-agent-1`...). */
  readonly tokens: Readonly<Record<string, string>>;
  /** Everything the stack wrote so far. */
  output(): string;
  /** Every (re)start of an instance, in order. */
  readonly starts: readonly { readonly instance: string; readonly at: number }[];
}

/** The WhatsApp number a test's Meta app webhooks come from. */
export const STACK_PHONE_NUMBER_ID = 'pn-stack';

/**
 * Starts `npm run stack` (services/parley/dist/stack.js) in a process group of its
 * own, on FerretDB and Kafka, in a Kafka namespace of its own, with one WhatsApp
 * number signed with `appSecret`; resolves once the demo tenant is seeded.
 */
export async function startStack(options: {
  readonly kafkaBrokers: readonly string[];
  readonly mongoUrl: string;
  readonly database: string;
  readonly dataDir: string;
  readonly appSecret: string;
  readonly replicas: number;
  readonly env?: Readonly<Record<string, string>>;
}): Promise<RunningStack> {
  const child = spawn(process.execPath, [join(__dirname, '..', 'stack.js')], {
    env: {
      ...process.env,
      PARLEY_KAFKA_BROKERS: options.kafkaBrokers.join(','),
      // Topics and groups of its own: nothing left on the cluster by other runs reaches this stack.
      PARLEY_KAFKA_NAMESPACE: `${options.database.replace(/_/g, '-')}.`,
      PARLEY_MONGO_URL: options.mongoUrl,
      PARLEY_MONGO_DATABASE: options.database,
      PARLEY_DATA_DIR: options.dataDir,
      PARLEY_STACK_FREE_PORTS: 'true',
      PARLEY_STACK_REPLICAS: String(options.replicas),
      PARLEY_LOG_LEVEL: 'warn',
      PARLEY_CHANNELS: JSON.stringify({
        meta: { appSecret: options.appSecret, verifyToken: 'verify-token-stack', appId: '1' },
        whatsapp: [{ phoneNumberId: STACK_PHONE_NUMBER_ID, tenantId: 'demo', accessToken: 'token' }],
        messenger: [],
        apple: [],
      }),
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  const replicas = new Map<string, StackReplica>();
  const starts: { instance: string; at: number }[] = [];
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const m of c.toString().matchAll(/^replica (\S+) pid (\d+) http (\d+)(?: grpc (\d+))?$/gm)) {
      replicas.set(m[1]!, { pid: Number(m[2]), http: Number(m[3]), ...(m[4] ? { grpc: Number(m[4]) } : {}) });
      starts.push({ instance: m[1]!, at: Date.now() });
    }
  });
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await waitFor(
      () => out,
      (o) => /demo-agent-2 \(agent\)\s+\S+\n/.test(o),
      { what: 'the stack', timeoutMs: 150_000 },
    );
  } catch (error) {
    await stopStack(child);
    throw new Error(`${(error as Error).message}\n${out.slice(-3000)}`);
  }
  const tokens = Object.fromEntries([...out.matchAll(/^ {2}(\S+)(?: \(agent\))?\s+(eyJ\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { child, replica: (instance) => replicas.get(instance)!, tokens, output: () => out, starts };
}

/** A WhatsApp Cloud API webhook as Meta documents it: one text message from a customer's number to STACK_PHONE_NUMBER_ID. */
export function whatsappWebhook(customer: number, wamid: string, text: string): string {
  const from = `1650${String(customer).padStart(7, '0')}`;
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: 'waba-stack',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550001111', phone_number_id: STACK_PHONE_NUMBER_ID },
              contacts: [{ profile: { name: 'Customer' }, wa_id: from }],
              messages: [{ from, id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
            },
          },
        ],
      },
    ],
  });
}

/** Posts a webhook signed as Meta signs it (HMAC-SHA256 of the body with the app secret); resolves with the HTTP status, 0 when unreachable. */
export function postWebhook(port: number, body: string, appSecret: string, timeoutMs = 10_000): Promise<number> {
  const signature = `sha256=${createHmac('sha256', appSecret).update(body).digest('hex')}`;
  return fetch(`http://127.0.0.1:${port}/webhooks/whatsapp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  }).then(
    (r) => r.status,
    () => 0,
  );
}
