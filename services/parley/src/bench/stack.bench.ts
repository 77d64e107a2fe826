/**
 * `npm run bench:stack`: the scaled-out system under signed WhatsApp webhooks.
 * `npm run stack` with BENCH_REPLICAS (default 2) replicas of every service on
 * FerretDB (PostgreSQL) and Kafka; webhooks sent open-loop at fixed rates
 * (BENCH_RATES, default 1,2,5,10,20 a second, BENCH_SECONDS each, default 15),
 * alternately to the two ingress replicas, each from a new customer (so each
 * opens a conversation that routing must offer). Two agents' desktops poll
 * ListOffers every 200 ms and accept what they see (500 conversations each at
 * most, the largest capacity there is: past 1,000 webhooks, offers wait for capacity). Printed per rate:
 * acknowledgement latency p50/p99 (counted from when the webhook was due, so a
 * sender that falls behind hides nothing), webhook-to-offer p50/p99 (until the
 * agent's desktop first sees the offer) and how many were offered; then the
 * highest rate whose acknowledgement p99 stayed under 200 ms, and the highest rate
 * the stack kept up with (every conversation offered, webhook-to-offer p99 under
 * 5 s): with Kafka a webhook is answered once on Kafka, so the two differ. Beside it, in the
 * same run and before the stack starts: the raw FerretDB insert rate, find-by-_id
 * rate and the raw Kafka produce rate on this machine (BENCH_RAW_CONCURRENCY
 * concurrent single operations, default 16), the ceiling any of it works under.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { MongoEventLog, type RecordedEvent } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { infrastructure } from '@parley/testing-support';
import { call, client, postWebhook, startStack, stopStack, whatsappWebhook, type RunningStack } from '../testing/stack.process';

const RATES = (process.env['BENCH_RATES'] ?? '1,2,5,10,20').split(',').map(Number);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 15);
const REPLICAS = Number(process.env['BENCH_REPLICAS'] ?? 2);
const RAW_CONCURRENCY = Number(process.env['BENCH_RAW_CONCURRENCY'] ?? 16);
const RAW_SECONDS = 5;
/** Webhooks sent (2 a second, not measured) before the first rate: every replica has met the load once. */
const WARM_SECONDS = Number(process.env['BENCH_WARM_SECONDS'] ?? 10);
const ACK_GOAL_MS = 200;
const OFFER_GOAL_MS = 5_000;
/** How long the offers of a step may take to show after its last webhook. */
const OFFER_DRAIN_MS = 120_000;
const AGENTS = ['demo-agent-1', 'demo-agent-2'];
const APP_SECRET = randomBytes(16).toString('hex');

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};
const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : 'n/a');

/** Runs `write` from `concurrency` loops for `seconds`; returns writes a second. */
async function rate(seconds: number, concurrency: number, write: (i: number) => Promise<unknown>): Promise<number> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) await write(done++);
    }),
  );
  return done / ((Date.now() - started) / 1000);
}

/** FerretDB's raw insert rate, then its rate of finds by `_id` on what was inserted (FerretDB 1.24 pushes `_id` equality down, but PostgreSQL scans the table for it). */
async function rawFerretRates(mongoUrl: string): Promise<{ inserts: number; finds: number; documents: number }> {
  const mongo = await MongoClient.connect(mongoUrl);
  const db = mongo.db(`bench_raw_${process.pid}`);
  const collection = db.collection<{ _id: string; stream: string; version: number; data: string }>('raw');
  await collection.createIndex({ stream: 1, version: 1 }, { unique: true });
  const payload = 'x'.repeat(400);
  try {
    const inserts = await rate(RAW_SECONDS, RAW_CONCURRENCY, (i) => collection.insertOne({ _id: `e${i}`, stream: `s${i % 1000}`, version: i, data: payload }));
    const documents = await collection.estimatedDocumentCount();
    const finds = await rate(RAW_SECONDS, RAW_CONCURRENCY, (i) => collection.findOne({ _id: `e${(i * 7919) % documents}` }));
    return { inserts, finds, documents };
  } finally {
    await db.dropDatabase();
    await mongo.close();
  }
}

async function rawKafkaProduceRate(brokers: readonly string[]): Promise<number> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const topic = `bench-raw-${process.pid}-${Date.now()}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 12 }], waitForLeaders: true });
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true });
  await producer.connect();
  const value = 'x'.repeat(400);
  try {
    // As Parley's bus publishes: acks from all in-sync replicas, one send per event.
    return await rate(RAW_SECONDS, RAW_CONCURRENCY, (i) => producer.send({ topic, acks: -1, messages: [{ key: `s${i % 1000}`, value }] }));
  } finally {
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => undefined);
    await admin.disconnect();
  }
}

/** Agents' desktops: every 200 ms, ListOffers on any routing replica; each offer seen first is timed and accepted. */
function desktops(stack: RunningStack, seen: Map<string, number>): { stop(): Promise<void> } {
  let on = true;
  const loops = AGENTS.map(async (agent, a) => {
    for (let turn = 0; on; turn++) {
      const c = client('RoutingService', `127.0.0.1:${stack.replica(`routing#${(turn + a) % REPLICAS}`).grpc}`);
      try {
        const { offers } = await call<{ offers: { offer_id: string; queue_id: string; conversation_id: string }[] }>(
          c,
          'ListOffers',
          { queue_ids: ['support'] },
          stack.tokens[agent]!,
        );
        const now = Date.now();
        for (const o of offers) if (!seen.has(o.conversation_id)) seen.set(o.conversation_id, now);
        for (const o of offers) await call(c, 'AcceptOffer', { queue_id: o.queue_id, offer_id: o.offer_id }, stack.tokens[agent]!).catch(() => undefined);
      } catch {
        // a replica busy or restarting: the next turn asks the other
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  return {
    stop: async () => {
      on = false;
      await Promise.all(loops);
    },
  };
}

/** Which conversation each webhook opened, from the log (the message's wamid is recorded with it). */
async function conversationsOf(log: MongoEventLog, wamids: ReadonlySet<string>, found: Map<string, string>, from: { after: number }): Promise<void> {
  for (;;) {
    const page = await log.readAll({ after: from.after, limit: 1000, types: ['conversation.message-received'] });
    for (const e of page.events as RecordedEvent<{ channelMessageId?: string; conversationId?: string }>[])
      if (e.data.channelMessageId && wamids.has(e.data.channelMessageId))
        found.set(e.data.channelMessageId, e.data.conversationId ?? e.streamId.slice(`conversation-${e.tenantId}-`.length));
    if (page.checkpoint === from.after) return;
    from.after = page.checkpoint;
  }
}

async function countEvents(log: MongoEventLog, after: number): Promise<number> {
  let count = 0;
  for (;;) {
    const page = await log.readAll({ after, limit: 1000 });
    count += page.events.length;
    if (page.checkpoint === after) return count;
    after = page.checkpoint;
  }
}

async function main(): Promise<void> {
  const { kafkaBrokers, mongoUrl } = infrastructure();
  process.stdout.write(`bench:stack: ${REPLICAS} replicas of each service, rates ${RATES.join(', ')}/s for ${SECONDS} s each\n`);
  const raw = await rawFerretRates(mongoUrl);
  const ferret = raw.inserts;
  const kafka = await rawKafkaProduceRate(kafkaBrokers);
  process.stdout.write(
    `raw limits on this machine (${RAW_CONCURRENCY} concurrent single writes, ${RAW_SECONDS} s): FerretDB insert ${ferret.toFixed(0)}/s, Kafka produce (acks all) ${kafka.toFixed(0)}/s; ` +
      `FerretDB find by _id in those ${raw.documents} documents ${raw.finds.toFixed(0)}/s\n`,
  );

  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-stack-'));
  const database = `bench_stack_${process.pid}_${Date.now()}`;
  const stack = await startStack({ kafkaBrokers, mongoUrl, database, dataDir, appSecret: APP_SECRET, replicas: REPLICAS });
  const log = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
  const offered = new Map<string, number>();
  const agents = desktops(stack, offered);
  try {
    const availability = client('AvailabilityService', `127.0.0.1:${stack.replica('availability#0').grpc}`);
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({
      weekday,
      slots: [
        { from: '00:00', to: '12:00' },
        { from: '12:00', to: '00:00' },
      ],
    }));
    await call(availability, 'SetBusinessHours', { queue_id: 'support', time_zone: 'UTC', days }, stack.tokens['supervisor']!);
    for (const agent of AGENTS) {
      await call(availability, 'SetCapacity', { agent_id: agent, live_chats: 50, messaging: 500, skills: [], languages: [] }, stack.tokens['supervisor']!);
      await call(availability, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, stack.tokens[agent]!);
    }
    const beating = setInterval(() => {
      for (const agent of AGENTS) void call(availability, 'Heartbeat', {}, stack.tokens[agent]!).catch(() => undefined);
    }, 2000);

    let customer = 0;
    const warm: Promise<number>[] = [];
    for (let i = 0; i < WARM_SECONDS * 2; i++) {
      const c = customer++;
      warm.push(postWebhook(stack.replica(`ingress#${i % REPLICAS}`).http, whatsappWebhook(c, `wamid.warm.${c}`, 'warming up'), APP_SECRET, 30_000));
      await new Promise((r) => setTimeout(r, 500));
    }
    await Promise.all(warm);
    const firstPosition = await log.lastPosition();
    const measuredFrom = customer;
    const rows: string[] = [];
    let best = 0;
    let keptUp = 0;
    const from = { after: 0 };
    const opened = new Map<string, string>();
    for (const perSecond of RATES) {
      const total = Math.round(perSecond * SECONDS);
      const due: number[] = [];
      const acks: number[] = [];
      const sentAt = new Map<string, number>();
      let failed = 0;
      const start = Date.now() + 100;
      const sends: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const at = start + (i * 1000) / perSecond;
        due.push(at);
        const wait = at - Date.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const c = customer++;
        const wamid = `wamid.bench.${c}`;
        sentAt.set(wamid, at);
        sends.push(
          postWebhook(stack.replica(`ingress#${i % REPLICAS}`).http, whatsappWebhook(c, wamid, `hello from customer ${c}`), APP_SECRET, 30_000).then(
            (status) => {
              if (status === 200) acks.push(Date.now() - at);
              else failed++;
            },
          ),
        );
      }
      await Promise.all(sends);
      const wamids = new Set(sentAt.keys());
      const drainUntil = Date.now() + OFFER_DRAIN_MS;
      const waits = () => [...sentAt].filter(([w]) => opened.has(w) && offered.has(opened.get(w)!)).map(([w, at]) => offered.get(opened.get(w)!)! - at);
      while (Date.now() < drainUntil) {
        await conversationsOf(log, wamids, opened, from);
        if (waits().length >= acks.length) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      const toOffer = waits();
      const ackP99 = percentile(acks, 99);
      if (ackP99 < ACK_GOAL_MS && failed === 0) best = perSecond;
      const offerP99 = percentile(toOffer, 99);
      const drained = toOffer.length >= acks.length;
      if (drained && offerP99 < OFFER_GOAL_MS && failed === 0) keptUp = perSecond;
      rows.push(
        `${String(perSecond).padStart(5)}/s  sent ${String(total).padStart(5)}  acked ${String(acks.length).padStart(5)}  failed ${String(failed).padStart(3)}  ` +
          `ack p50 ${ms(percentile(acks, 50)).padStart(8)}  p99 ${ms(ackP99).padStart(8)}  ` +
          `offered ${String(toOffer.length).padStart(5)}  webhook-to-offer p50 ${ms(percentile(toOffer, 50)).padStart(9)}  p99 ${ms(offerP99).padStart(9)}`,
      );
      process.stdout.write(`${rows.at(-1)}\n`);
      // Past 10 times a goal, or with conversations not offered yet, the next rate only measures a backlog.
      if (ackP99 > 10 * ACK_GOAL_MS || !drained || offerP99 > 10 * OFFER_GOAL_MS) break;
    }
    clearInterval(beating);
    availability.close();
    const perWebhook = (await countEvents(log, firstPosition)) / (customer - measuredFrom);
    process.stdout.write(
      `\nhighest rate with acknowledgement p99 under ${ACK_GOAL_MS} ms: ${best ? `${best}/s` : 'none of those tried'}\n` +
        `highest rate kept up with (every conversation offered, webhook-to-offer p99 under ${OFFER_GOAL_MS / 1000} s): ${keptUp ? `${keptUp}/s` : 'none of those tried'}\n` +
        `beside it: FerretDB raw insert ${ferret.toFixed(0)}/s, find by _id ${raw.finds.toFixed(0)}/s, Kafka raw produce ${kafka.toFixed(0)}/s; ` +
        `each webhook became ${perWebhook.toFixed(1)} events in the log (each one insert and one Kafka message, besides reads and read-model writes)\n`,
    );
  } finally {
    await agents.stop();
    await log.close();
    await stopStack(stack.child);
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
