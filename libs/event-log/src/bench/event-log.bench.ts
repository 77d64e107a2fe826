/**
 * `npm run bench:log`: append and read throughput of both EventLog adapters at
 * 1, 16 and 256 concurrent streams, append latency percentiles, and, measured in
 * the same run on the same server, the raw driver's insert rate to compare with.
 * Prints numbers only; nothing here asserts a timing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MongoClient } from 'mongodb';
import { Registry } from '@parley/observability';
import type { EventLog } from '../event-log.port';
import { MongoEventLog } from '../mongo/mongo.event-log';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';

interface Row {
  adapter: string;
  streams: number;
  appends: number;
  appendsPerSec: number;
  p50ms: number;
  p99ms: number;
  readsPerSec: number;
}

const payload = { text: 'x'.repeat(200), channel: 'whatsapp', n: 0 };

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measure(adapter: string, log: EventLog, streams: number, total: number): Promise<Row> {
  const perStream = Math.max(1, Math.floor(total / streams));
  const latencies: number[] = [];
  const ids = Array.from({ length: streams }, (_, i) => `bench-${Date.now().toString(36)}-${i}`);
  const started = performance.now();
  await Promise.all(
    ids.map(async (stream) => {
      for (let v = 0; v < perStream; v++) {
        const t = performance.now();
        await log.append(stream, [{ type: 'bench.noted', tenantId: 'bench', data: { ...payload, n: v } }], v);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const readStarted = performance.now();
  let reads = 0;
  await Promise.all(
    ids.map(async (stream) => {
      for (let r = 0; r < Math.max(1, Math.floor(200 / streams)); r++) {
        await log.readStream(stream, { direction: 'backward', limit: 20 });
        reads++;
      }
    }),
  );
  const readSeconds = (performance.now() - readStarted) / 1000;
  return {
    adapter,
    streams,
    appends: latencies.length,
    appendsPerSec: latencies.length / seconds,
    p50ms: percentile(latencies, 50),
    p99ms: percentile(latencies, 99),
    readsPerSec: reads / readSeconds,
  };
}

function rawSqlite(dir: string): { single: number; batched: number } {
  const db = new Database(join(dir, 'raw.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, s TEXT, v INTEGER, data TEXT, UNIQUE (s, v))');
  const insert = db.prepare('INSERT INTO t (s, v, data) VALUES (?, ?, ?)');
  const body = JSON.stringify(payload);
  let t = performance.now();
  const n1 = 2000;
  for (let i = 0; i < n1; i++) insert.run('raw', i, body);
  const single = n1 / ((performance.now() - t) / 1000);
  const n2 = 50_000;
  t = performance.now();
  db.transaction(() => {
    for (let i = 0; i < n2; i++) insert.run('raw-batch', i, body);
  })();
  const batched = n2 / ((performance.now() - t) / 1000);
  db.close();
  return { single, batched };
}

async function rawMongo(url: string, database: string): Promise<{ single: number; batched: number }> {
  const client = await MongoClient.connect(url);
  const col = client.db(database).collection('raw');
  await col.createIndex({ s: 1, v: 1 }, { unique: true });
  const body = JSON.stringify(payload);
  const n1 = 1000;
  let t = performance.now();
  for (let i = 0; i < n1; i++) await col.insertOne({ _id: `raw#${i}` as never, s: 'raw', v: i, data: body });
  const single = n1 / ((performance.now() - t) / 1000);
  const n2 = 5120;
  t = performance.now();
  for (let b = 0; b < n2; b += 256) {
    await col.insertMany(
      Array.from({ length: 256 }, (_, i) => ({ _id: `batch#${b + i}` as never, s: 'batch', v: b + i, data: body })),
      { ordered: false },
    );
  }
  const batched = n2 / ((performance.now() - t) / 1000);
  await client.db(database).dropDatabase();
  await client.close();
  return { single, batched };
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const sqliteTotal = Number(process.env['BENCH_SQLITE_EVENTS'] ?? 20_000);
  const mongoTotal = Number(process.env['BENCH_MONGO_EVENTS'] ?? 2_048);
  try {
    for (const streams of [1, 16, 256]) {
      const log = new SqliteEventLog({ filename: join(dir, `log-${streams}.db`), registry: new Registry() });
      rows.push(await measure('sqlite', log, streams, streams === 1 ? sqliteTotal / 4 : sqliteTotal));
      await log.close();
    }
    const rawLite = rawSqlite(dir);
    const url = process.env['PARLEY_MONGO_URL'];
    let rawFerret: { single: number; batched: number } | null = null;
    if (url) {
      for (const streams of [1, 16, 256]) {
        // A fresh database per level: the collection's size changes what each query costs.
        const database = `parley_bench_${Date.now().toString(36)}_${streams}`;
        const log = await MongoEventLog.connect(url, database, { registry: new Registry() });
        rows.push(await measure('mongo', log, streams, streams === 1 ? mongoTotal / 4 : mongoTotal));
        await log.close();
        const client = await MongoClient.connect(url);
        await client.db(database).dropDatabase();
        await client.close();
      }
      rawFerret = await rawMongo(url, `parley_bench_raw_${Date.now().toString(36)}`);
    }
    console.log('\nEventLog append and read (one event per append, exact expected version; reads: last 20 events of a stream)\n');
    console.log('adapter  streams  appends  appends/s  p50 ms  p99 ms  reads/s');
    for (const r of rows) {
      console.log(
        `${r.adapter.padEnd(7)}  ${String(r.streams).padStart(7)}  ${String(r.appends).padStart(7)}  ${fmt(r.appendsPerSec).padStart(9)}  ${fmt(r.p50ms, 2).padStart(6)}  ${fmt(r.p99ms, 2).padStart(6)}  ${fmt(r.readsPerSec).padStart(7)}`,
      );
    }
    console.log('\nRaw driver on the same storage, the limit to compare with');
    console.log(`sqlite   better-sqlite3, one insert per transaction (WAL, synchronous=FULL): ${fmt(rawLite.single)} inserts/s`);
    console.log(`sqlite   better-sqlite3, 50,000 inserts in one transaction:                   ${fmt(rawLite.batched)} inserts/s`);
    if (rawFerret) {
      console.log(`mongo    insertOne, one at a time:                                            ${fmt(rawFerret.single)} inserts/s`);
      console.log(`mongo    insertMany, 256 per call:                                            ${fmt(rawFerret.batched)} inserts/s`);
    } else {
      console.log('mongo    skipped: PARLEY_MONGO_URL is not set (npm run bench:log sets it)');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
