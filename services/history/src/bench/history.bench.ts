/**
 * `npm run bench:history`: projection replay rate over one million events,
 * conversation load time at 1,000 and 100,000 events (BENCH_LONG; with and without a
 * snapshot), and GetConversation requests/s with p50/p99 over gRPC. On the
 * SQLite event log (embedded mode); prints numbers only.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, credentials, type Client } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { EVENT_CONTRACTS, type ConversationEvent } from '@parley/contracts';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION, type ConversationCommand, type ConversationState } from '@parley/conversation';
import { DeciderStore, SqliteEventLog, type NewEvent } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { ProjectionRunner, SqliteReadModelStore } from '@parley/read-model';
import { loadHistoryConfig } from '../config/history.config';
import { conversationListProjection } from '../projections/conversation-list.projection';
import { conversationStream } from '../conversations/conversations.grpc';
import { startHistory } from '../history.app';

const TOTAL = Number(process.env['BENCH_EVENTS'] ?? 1_000_000);
const at = (i: number) => new Date(Date.parse('2026-01-01T00:00:00.000Z') + i * 1000).toISOString();

/** A conversation of `n` events: it starts, then the customer and an agent take turns. */
function conversationEvents(id: string, n: number): NewEvent[] {
  const events: NewEvent[] = [{ type: 'conversation.started', tenantId: 't', data: { conversationId: id, customerId: `cust-${id}`, channel: 'web', at: at(0) } }];
  for (let i = 1; i < n; i++) {
    events.push(
      i % 2
        ? { type: 'conversation.message-received', tenantId: 't', data: { messageId: `m${i}`, channel: 'web', channelMessageId: `w${i}`, text: 'hello, I have a question about my order', attachments: [], at: at(i) } }
        : { type: 'conversation.message-sent', tenantId: 't', data: { messageId: `o${i}`, channel: 'web', author: { kind: 'agent', agentId: 'a1' }, text: 'sure, let me check', attachments: [], at: at(i) } },
    );
  }
  return events;
}

async function fill(log: SqliteEventLog, stream: string, events: NewEvent[]): Promise<void> {
  let version = 0;
  for (let i = 0; i < events.length; i += 1000) version = (await log.append(stream, events.slice(i, i + 1000), version)).nextExpectedVersion;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-history-'));
  const file = join(dir, 'events.db');
  const registry = new Registry();
  const log = new SqliteEventLog({ filename: file, registry });
  try {
    // 1. One million events in 10,000 conversations of 100 events.
    let t = performance.now();
    const perConversation = 100;
    const conversations = Math.max(1, Math.floor(TOTAL / perConversation));
    await Promise.all(
      Array.from({ length: 8 }, async (_, w) => {
        for (let c = w; c < conversations; c += 8) await fill(log, conversationStream('t', `c${c}`), conversationEvents(`c${c}`, perConversation));
      }),
    );
    const writeSeconds = (performance.now() - t) / 1000;
    const written = await log.lastPosition();

    const store = new SqliteReadModelStore(file);
    const runner = new ProjectionRunner({ log, store, projection: conversationListProjection, registry, batchSize: 2000 });
    t = performance.now();
    const { applied } = await runner.rebuild();
    const replaySeconds = (performance.now() - t) / 1000;
    await store.close();

    // 2. Loading one conversation of 1,000 and of 100,000 events, without and with a snapshot.
    const decider = new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({ log, decider: conversationDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION, snapshotEvery: Number.MAX_SAFE_INTEGER });
    const loads: { events: number; cold: number; snapshot: number }[] = [];
    for (const n of (process.env['BENCH_LONG'] ?? '1000,100000').split(',').map(Number)) {
      const stream = conversationStream('t', `long-${n}`);
      await fill(log, stream, conversationEvents(`long-${n}`, n));
      const time = async () => {
        const s = performance.now();
        await decider.load(stream);
        return performance.now() - s;
      };
      const cold = Math.min(await time(), await time());
      const { state, version } = await decider.load(stream);
      await log.saveSnapshot({ streamId: stream, version, schemaVersion: SNAPSHOT_SCHEMA_VERSION, state, takenAt: new Date().toISOString() });
      // A few events after the snapshot, as in life.
      await log.append(stream, conversationEvents(`long-${n}`, 11).slice(1).map((e, i) => ({ ...e, data: { ...(e.data as object), messageId: `late-${i}`, channelMessageId: `late-${i}` } })), version);
      const snapshot = Math.min(await time(), await time());
      loads.push({ events: n, cold, snapshot });
    }

    // 3. GetConversation over gRPC, 16 calls in flight for 5 seconds.
    const secret = randomBytes(32).toString('hex');
    await log.close();
    const running = await startHistory(
      loadHistoryConfig({ PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: file, PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0', PARLEY_HISTORY_HTTP_PORT: '0', PARLEY_MASTER_KEY: randomBytes(32).toString('base64'), PARLEY_TOKEN_SECRETS: secret }),
      { registry: new Registry(), httpHost: '127.0.0.1' },
    );
    const client = new (parleyService('ConversationService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure()) as Client & Record<string, (r: unknown, m: Metadata, cb: (e: unknown) => void) => void>;
    const md = new Metadata();
    md.set('authorization', `Bearer ${await new SignJWT({ tenant: 't', role: 'agent' }).setProtectedHeader({ alg: 'HS256' }).setAudience('parley').setExpirationTime('10m').sign(new TextEncoder().encode(secret))}`);
    const latencies: number[] = [];
    const until = performance.now() + 5000;
    t = performance.now();
    await Promise.all(
      Array.from({ length: 16 }, async (_, w) => {
        for (let i = w; performance.now() < until; i += 16) {
          const s = performance.now();
          await new Promise<void>((resolve, reject) => client['GetConversation']!.call(client, { conversation_id: `c${i % conversations}` }, md, (e) => (e ? reject(e) : resolve())));
          latencies.push(performance.now() - s);
        }
      }),
    );
    const rpcSeconds = (performance.now() - t) / 1000;
    client.close();
    await running.close();
    latencies.sort((a, b) => a - b);

    const f = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
    console.log(`\nHistory on the SQLite event log (${f(written)} events in ${f(conversations)} conversations of ${perConversation}, written at ${f(written / writeSeconds)} events/s)\n`);
    console.log(`projection replay (conversation list, rebuild from the first event): ${f(applied)} events in ${f(replaySeconds, 1)} s = ${f(applied / replaySeconds)} events/s`);
    for (const l of loads) console.log(`conversation load, ${f(l.events)} events: ${f(l.cold, 1)} ms from the first event, ${f(l.snapshot, 2)} ms from a snapshot plus 10 events`);
    console.log(`GetConversation (100-event conversations, 16 in flight, 5 s): ${f(latencies.length / rpcSeconds)} requests/s, p50 ${f(pct(latencies, 50), 2)} ms, p99 ${f(pct(latencies, 99), 2)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
