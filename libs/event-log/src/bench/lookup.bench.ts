/**
 * `npm run bench:lookup`: how the cost of finding one document by `_id` (what the
 * MongoDB event log does to read a stream's next version) grows with the
 * collection, on the server at PARLEY_MONGO_URL. On MongoDB it is an index
 * look-up at any size. On FerretDB 1.24 over PostgreSQL it is a table scan unless
 * FerretDB's indexes have GIN twins (deploy/local/postgres/ferretdb-gin-twins.sql,
 * which `npm run infra:up` installs): run it with the twins and without
 * (`ALTER EVENT TRIGGER parley_gin_twins DISABLE` in FerretDB's database) to see
 * the difference. Beside each size: the raw insert rate of the same run. Prints
 * numbers only.
 */
import { MongoClient } from 'mongodb';

const SIZES = (process.env['BENCH_SIZES'] ?? '1000,10000,100000').split(',').map(Number);
const CONCURRENCY = 16;
const SECONDS = 3;

async function main(): Promise<void> {
  const url = process.env['PARLEY_MONGO_URL'] ?? 'mongodb://127.0.0.1:27017/';
  const client = await MongoClient.connect(url);
  const db = client.db(`bench_lookup_${process.pid}_${Date.now()}`);
  const events = db.collection<{ _id: string; streamId: string; version: number; data: unknown }>('events');
  try {
    await events.createIndex({ streamId: 1, version: 1 }, { unique: true });
    let size = 0;
    console.log(`find by _id, ${CONCURRENCY} concurrent, ${SECONDS} s at each size (${url.replace(/\/\/[^@]*@/, '//')})`);
    for (const target of SIZES) {
      const started = performance.now();
      const added = target - size;
      for (let from = size; from < target; from += 1000) {
        const batch = Array.from({ length: Math.min(1000, target - from) }, (_, i) => {
          const n = from + i;
          return {
            _id: `conversation-bench-${n % 5000}#${Math.floor(n / 5000) + 1}`,
            streamId: `conversation-bench-${n % 5000}`,
            version: Math.floor(n / 5000) + 1,
            data: { text: 'x'.repeat(200) },
          };
        });
        await events.insertMany(batch, { ordered: false });
      }
      const insertsPerSec = added / ((performance.now() - started) / 1000);
      size = target;
      let found = 0;
      const end = Date.now() + SECONDS * 1000;
      const t0 = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, w) => {
          for (let i = w; Date.now() < end; i += CONCURRENCY) {
            const n = (i * 7919) % size;
            if (await events.findOne({ _id: `conversation-bench-${n % 5000}#${Math.floor(n / 5000) + 1}` })) found++;
          }
        }),
      );
      const perSec = found / ((performance.now() - t0) / 1000);
      console.log(
        `${String(size).padStart(8)} documents   find by _id ${perSec.toFixed(0).padStart(6)}/s   (inserted in batches of 1000 at ${insertsPerSec.toFixed(0)}/s)`,
      );
    }
  } finally {
    await db.dropDatabase();
    await client.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
