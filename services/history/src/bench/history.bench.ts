/**
 * `npm run bench:history`: what one message costs as a conversation grows, on
 * the embedded store (SQLite). For conversations of 100, 10,000 and 100,000
 * events (BENCH_SIZES): append p50/p99 through the decider store, load time,
 * projection events/s while catching up, GetConversation p50/p99 for the latest
 * page, and the ratio of the largest to the smallest. Then GetConversation
 * requests/s beside a bare grpc-js echo server loaded by the same client (a
 * worker thread: the server has the main thread's core to itself), and
 * projection replay beside raw better-sqlite3 reads of the same rows
 * (BENCH_EVENTS, one million by default). Progress goes to stderr as it runs.
 * Also: BENCH_SECONDS of load per measure (3), BENCH_APPENDS (400),
 * BENCH_IN_FLIGHT calls (16).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Metadata, Server, ServerCredentials, credentials, makeGenericClientConstructor, type Client, type ServiceDefinition } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { EVENT_CONTRACTS, type ConversationEvent } from '@parley/contracts';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION, type ConversationCommand, type ConversationState } from '@parley/conversation';
import { DeciderStore, type EventLog, type NewEvent } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { ProjectionRunner } from '@parley/read-model';
import { openStorage, type Storage } from '@parley/storage';
import { loadHistoryConfig } from '../config/history.config';
import { conversationStream } from '../conversations/conversations.grpc';
import { historyProjections } from '../projections/history.projections';
import { startHistory } from '../history.app';

const SIZES = (process.env['BENCH_SIZES'] ?? '100,10000,100000').split(',').map(Number);
const TOTAL = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const APPENDS = Number(process.env['BENCH_APPENDS'] ?? 400);
const IN_FLIGHT = Number(process.env['BENCH_IN_FLIGHT'] ?? 16);
const started = performance.now();
const progress = (what: string) => process.stderr.write(`[bench:history ${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${what}\n`);
const at = (i: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + i * 1000).toISOString();
const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const pct = (sorted: readonly number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** A conversation of `n` events as life writes it: the customer and an agent take turns, receipts follow the replies. */
function conversationEvents(id: string, n: number): NewEvent[] {
  const events: NewEvent[] = [
    {
      type: 'conversation.started',
      tenantId: 't',
      metadata: { subjectId: `cust-${id}` },
      data: { conversationId: id, customerId: `cust-${id}`, channel: 'web', at: at(0) },
    },
  ];
  for (let i = 1; i < n; i++) {
    const data =
      i % 3 === 1
        ? {
            type: 'conversation.message-received',
            data: {
              messageId: `m${i}`,
              channel: 'web',
              channelMessageId: `w${i}`,
              text: 'hello, I have a question about my order',
              attachments: [],
              at: at(i),
            },
          }
        : i % 3 === 2
          ? {
              type: 'conversation.message-sent',
              data: { messageId: `o${i}`, channel: 'web', author: { kind: 'agent', agentId: 'a1' }, text: 'sure, let me check', attachments: [], at: at(i) },
            }
          : { type: 'conversation.receipt-recorded', data: { channel: 'web', status: 'read', reader: 'customer', messageId: `o${i - 1}`, at: at(i) } };
    events.push({ ...data, tenantId: 't', metadata: { subjectId: `cust-${id}` } });
  }
  return events;
}

async function fill(log: EventLog, stream: string, events: NewEvent[]): Promise<void> {
  let version = 0;
  for (let i = 0; i < events.length; i += 1000) version = (await log.append(stream, events.slice(i, i + 1000), version)).nextExpectedVersion;
}

function openBench(file: string): Promise<Storage> {
  return openStorage({ PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: file, PARLEY_MONGO_DATABASE: 'bench', PARLEY_MASTER_KEY: MASTER_KEY }, new Registry());
}
const MASTER_KEY = randomBytes(32).toString('base64');
const TOKEN_SECRET = randomBytes(32).toString('hex');

type Unary = (r: unknown, m: Metadata, cb: (e: unknown, v?: unknown) => void) => void;

/** What the load worker is told: where to call, what, with which token. */
interface LoadOrder {
  readonly port: number;
  readonly service: 'ConversationService' | 'Echo';
  readonly method: string;
  readonly request: unknown;
  readonly token: string;
}

/**
 * Calls with IN_FLIGHT calls in flight for SECONDS from a worker thread, so the
 * client has a core of its own and the server's core serves only: requests/s
 * and sorted latencies (ms).
 */
function load(order: LoadOrder): Promise<{ rps: number; latencies: number[] }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(__filename, { workerData: order });
    worker.once('message', (result: { rps: number; latencies: number[] }) => resolve(result));
    worker.once('error', reject);
  });
}

async function runLoad(order: LoadOrder): Promise<{ rps: number; latencies: number[] }> {
  // Answers are not decoded: the client stays light, so what is measured is the server.
  const definition =
    order.service === 'Echo'
      ? ECHO
      : Object.fromEntries(Object.entries(parleyService(order.service).service).map(([name, m]) => [name, { ...m, responseDeserialize: (b: Buffer) => b }]));
  const Service = makeGenericClientConstructor(definition as ServiceDefinition, order.service);
  const client = new Service(`127.0.0.1:${order.port}`, credentials.createInsecure()) as Client & Record<string, Unary>;
  const md = new Metadata();
  md.set('authorization', `Bearer ${order.token}`);
  const request = order.service === 'Echo' ? Buffer.from('{}') : order.request;
  const latencies: number[] = [];
  const until = performance.now() + SECONDS * 1000;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (performance.now() < until) {
        const s = performance.now();
        await new Promise<void>((done, fail) => client[order.method]!.call(client, request, md, (e) => (e ? fail(e) : done())));
        latencies.push(performance.now() - s);
      }
    }),
  );
  client.close();
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / ((performance.now() - t) / 1000), latencies };
}

const token = () =>
  new SignJWT({ tenant: 't', role: 'agent' })
    .setProtectedHeader({ alg: 'HS256' })
    .setAudience('parley')
    .setExpirationTime('30m')
    .sign(new TextEncoder().encode(TOKEN_SECRET));

function startService(storage: Storage) {
  return startHistory(
    loadHistoryConfig({
      PARLEY_STORE: 'sqlite',
      PARLEY_SQLITE_FILE: ':unused:',
      PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0',
      PARLEY_HISTORY_HTTP_PORT: '0',
      PARLEY_MASTER_KEY: MASTER_KEY,
      PARLEY_TOKEN_SECRETS: TOKEN_SECRET,
    }),
    { registry: new Registry(), httpHost: '127.0.0.1', storage },
  );
}

interface SizeFigures {
  readonly events: number;
  readonly appendP50: number;
  readonly appendP99: number;
  readonly loadMs: number;
  readonly projectionRate: number;
  readonly rowsPerEvent: number;
  readonly sealedPerEvent: number;
  readonly getP50: number;
  readonly getP99: number;
  readonly getRps: number;
  readonly freshP50: number;
  readonly freshP99: number;
}

/** Everything per message, for one conversation of `n` events, in a store of its own. */
async function measureSize(n: number): Promise<SizeFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-history-'));
  const storage = await openBench(join(dir, 'events.db'));
  try {
    const id = `long-${n}`;
    const stream = conversationStream('t', id);
    progress(`${f(n)} events: writing the conversation`);
    await fill(storage.log, stream, conversationEvents(id, n));

    // Appends through the decider store, as the services write: a cache, snapshots every 200 events.
    progress(`${f(n)} events: ${APPENDS} appends through the decider store`);
    const store = new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      snapshotEvery: 200,
      cacheSize: 100,
    });
    const envelope = { tenantId: 't', metadata: { subjectId: `cust-${id}` } };
    const command = (i: number): ConversationCommand =>
      i % 2
        ? { type: 'SendMessage', messageId: `bench-o${i}`, author: { kind: 'agent', agentId: 'a1' }, text: 'one moment please', at: at(n + i) }
        : {
            type: 'ReceiveMessage',
            conversationId: id,
            customerId: `cust-${id}`,
            messageId: `bench-m${i}`,
            channel: 'web',
            channelMessageId: `bench-w${i}`,
            text: 'thanks, any news?',
            at: at(n + i),
          };
    // The first append after the bulk write stores the facts of the whole conversation once (a migration): not counted.
    for (let i = 0; i < 20; i++) await store.handle(stream, command(i), envelope);
    const appends: number[] = [];
    for (let i = 20; i < 20 + APPENDS; i++) {
      const s = performance.now();
      await store.handle(stream, command(i), envelope);
      appends.push(performance.now() - s);
    }
    appends.sort((a, b) => a - b);

    const loads: number[] = [];
    for (let i = 0; i < 5; i++) {
      const fresh = new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({
        log: storage.log,
        decider: conversationDecider,
        contracts: EVENT_CONTRACTS,
        snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      });
      const s = performance.now();
      await fresh.load(stream);
      loads.push(performance.now() - s);
    }
    loads.sort((a, b) => a - b);

    progress(`${f(n)} events: the timeline projection catching up`);
    const projections = historyProjections(storage.log, storage.masterKey, {});
    const events = await storage.raw.lastPosition();
    const s = performance.now();
    await new ProjectionRunner({
      log: storage.log,
      store: storage.readModels,
      projection: projections.timeline,
      registry: new Registry(),
      batchSize: 500,
    }).catchUp();
    const projectionRate = events / ((performance.now() - s) / 1000);
    const { rowsWritten, bytesSealed } = projections.timeline.stats;

    progress(`${f(n)} events: GetConversation for ${SECONDS} s`);
    const running = await startService(storage);
    const get = await load({
      port: running.grpcPort,
      service: 'ConversationService',
      method: 'GetConversation',
      request: { conversation_id: id, page_size: 50 },
      token: await token(),
    });
    // A page after every new message: nothing kept can answer it.
    progress(`${f(n)} events: GetConversation after each of 200 new messages`);
    const fresh: number[] = [];
    const client = new (parleyService('ConversationService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure()) as Client & Record<string, Unary>;
    const md = new Metadata();
    md.set('authorization', `Bearer ${await token()}`);
    for (let i = 0; i < 200; i++) {
      await store.handle(stream, command(20 + APPENDS + i), envelope);
      const s = performance.now();
      await new Promise<void>((done, fail) =>
        client['GetConversation']!.call(client, { conversation_id: id, page_size: 50 }, md, (e) => (e ? fail(e) : done())),
      );
      fresh.push(performance.now() - s);
    }
    client.close();
    fresh.sort((a, b) => a - b);
    await running.close();
    return {
      events: n,
      appendP50: pct(appends, 50),
      appendP99: pct(appends, 99),
      loadMs: loads[2]!,
      projectionRate,
      rowsPerEvent: rowsWritten / events,
      sealedPerEvent: bytesSealed / events,
      getP50: pct(get.latencies, 50),
      getP99: pct(get.latencies, 99),
      getRps: get.rps,
      freshP50: pct(fresh, 50),
      freshP99: pct(fresh, 99),
    };
  } finally {
    await storage.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const ECHO: ServiceDefinition = {
  Echo: {
    path: '/bench.Echo/Echo',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
};

/** A bare grpc-js server answering from memory, loaded the same way: what this machine and grpc-js allow. */
async function echoRps(): Promise<{ rps: number; p99: number }> {
  const payload = Buffer.alloc(2048, 1);
  const server = new Server();
  server.addService(ECHO, { Echo: (_call: unknown, callback: (e: null, v: Buffer) => void) => callback(null, payload) });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const result = await load({ port, service: 'Echo', method: 'Echo', request: null, token: 'x' });
  server.forceShutdown();
  return { rps: result.rps, p99: pct(result.latencies, 99) };
}

/** Projection replay over TOTAL events in conversations of 100, beside raw reads of the same rows. */
async function replay(): Promise<{ events: number; rawRate: number; rates: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-replay-'));
  const file = join(dir, 'events.db');
  const storage = await openBench(file);
  try {
    const conversations = Math.max(1, Math.floor(TOTAL / 100));
    for (let c = 0; c < conversations; c += 8) {
      await Promise.all(
        Array.from({ length: Math.min(8, conversations - c) }, (_, w) =>
          fill(storage.log, conversationStream('t', `c${c + w}`), conversationEvents(`c${c + w}`, 100)),
        ),
      );
      if ((c / 8) % 250 === 0) progress(`replay: writing ${f(conversations)} conversations of 100 events (${f(c)} so far)`);
    }
    const events = await storage.raw.lastPosition();
    progress(`replay: raw better-sqlite3 reads of ${f(events)} rows`);
    const raw = new Database(file, { readonly: true });
    let s = performance.now();
    let rows = 0;
    for (const row of raw.prepare<[], { data: string; metadata: string }>('SELECT * FROM events ORDER BY position').iterate()) {
      JSON.parse(row.data);
      JSON.parse(row.metadata);
      rows++;
    }
    const rawRate = rows / ((performance.now() - s) / 1000);
    raw.close();
    const projections = historyProjections(storage.log, storage.masterKey, {});
    const rates: Record<string, number> = {};
    for (const projection of [projections.timeline, projections.list]) {
      progress(`replay: rebuilding ${projection.name}`);
      const runner = new ProjectionRunner({ log: storage.log, store: storage.readModels, projection, registry: new Registry(), batchSize: 1000 });
      s = performance.now();
      const { applied } = await runner.rebuild();
      rates[projection.name] = applied / ((performance.now() - s) / 1000);
    }
    return { events, rawRate, rates };
  } finally {
    await storage.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const sizes: SizeFigures[] = [];
  for (const n of SIZES) sizes.push(await measureSize(n));
  progress('GetConversation beside a bare grpc-js echo server');
  const echo = await echoRps();
  const replayed = await replay();

  const first = sizes[0]!;
  const last = sizes.at(-1)!;
  const ratio = (pick: (s: SizeFigures) => number, higherIsBetter = false) => f(higherIsBetter ? pick(first) / pick(last) : pick(last) / pick(first), 2);
  console.log(
    `\nHistory on the embedded store (SQLite), per conversation size; ratio = ${f(last.events)} events against ${f(first.events)} (goal: at most 1.5)\n`,
  );
  console.log(
    [
      'events',
      'append p50 ms',
      'append p99 ms',
      'load ms',
      'projection ev/s',
      'rows/event',
      'sealed B/event',
      'Get p50 ms',
      'Get p99 ms',
      'Get after a message p50 ms',
      'p99 ms',
    ].join(' | '),
  );
  for (const s of sizes)
    console.log(
      [
        f(s.events),
        f(s.appendP50, 2),
        f(s.appendP99, 2),
        f(s.loadMs, 2),
        f(s.projectionRate),
        f(s.rowsPerEvent, 2),
        f(s.sealedPerEvent),
        f(s.getP50, 2),
        f(s.getP99, 2),
        f(s.freshP50, 2),
        f(s.freshP99, 2),
      ].join(' | '),
    );
  console.log(
    [
      'ratio',
      ratio((s) => s.appendP50),
      ratio((s) => s.appendP99),
      ratio((s) => s.loadMs),
      ratio((s) => s.projectionRate, true),
      ratio((s) => s.rowsPerEvent),
      ratio((s) => s.sealedPerEvent),
      ratio((s) => s.getP50),
      ratio((s) => s.getP99),
      ratio((s) => s.freshP50),
      ratio((s) => s.freshP99),
    ].join(' | '),
  );
  console.log(
    `(Get: ${IN_FLIGHT} in flight for ${SECONDS} s, the same conversation, so mostly its kept encoded page; Get after a message: one at a time, each after a new message, so never kept; client and server in one thread)`,
  );
  console.log(
    `\nGetConversation, latest page of 50, ${IN_FLIGHT} in flight, the server on one core, the client in a worker thread: ${f(last.getRps)} requests/s, p99 ${f(last.getP99, 2)} ms (${f(last.events)}-event conversation); ${f(first.getRps)} requests/s (${f(first.events)} events)`,
  );
  console.log(
    `bare grpc-js echo server (2 KB answers), the same client: ${f(echo.rps)} requests/s, p99 ${f(echo.p99, 2)} ms; GetConversation reaches ${f((100 * last.getRps) / echo.rps)} % of it`,
  );
  console.log(
    `\nprojection replay over ${f(replayed.events)} events (conversations of 100): ${Object.entries(replayed.rates)
      .map(([name, rate]) => `${name} ${f(rate)} events/s`)
      .join(', ')}`,
  );
  console.log(`raw better-sqlite3 read of the same rows (SELECT and JSON.parse): ${f(replayed.rawRate)} rows/s`);
  progress('done');
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else {
  runLoad(workerData as LoadOrder).then((result) => parentPort!.postMessage(result));
}
