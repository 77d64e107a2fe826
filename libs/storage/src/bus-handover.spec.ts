import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { eventsTopic } from '@parley/contracts';
import { MongoEventLog, type EventLog } from '@parley/event-log';
import { KafkaBus } from '@parley/message-bus';
import { runBusConsumer } from '@parley/message-bus/testing';
import { createLogger, Registry } from '@parley/observability';
import { BusProjectionFeed, ProjectionRunner, type Projection } from '@parley/read-model';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { openStorage, type Storage } from './index';

const STREAMS = 24;
const COUNTED = 'test.counted';

interface RecordRow {
  readonly id: string;
  /** Every version handed to the projection, in the order it was: a repeat or a gap shows here. */
  readonly versions: readonly number[];
  readonly [key: string]: unknown;
}

/** Records every event it is handed, on purpose not idempotent: the runner alone must keep repeats and gaps out. */
const recording: Projection = {
  name: 'handover-recording',
  tables: ['records'],
  types: [COUNTED],
  async handle(event, store, tables) {
    const table = tables.table('records');
    const row = (await store.get<RecordRow>(table, event.streamId)) ?? { id: event.streamId, versions: [] };
    await store.upsert(table, { ...row, versions: [...row.versions, event.streamVersion] });
  },
};

/**
 * Followers of the log fed by Kafka (history's projections): a first log pass up
 * to a recorded position, then the bus, with replicas joining and leaving,
 * writers whose events reach Kafka out of order or only through the sweeper, and
 * a rebuild while it all runs.
 */
describe('a projection handed over from the log to Kafka (FerretDB, Kafka)', () => {
  const { mongoUrl, kafkaBrokers } = infrastructure();
  const database = uniqueName('parley_handover').replace(/-/g, '_');
  const namespace = `${uniqueName('handover')}.`;
  const registry = new Registry();
  const logger = createLogger('handover-test');
  const buses: KafkaBus[] = [];
  const bus = (id: string) => {
    const b = new KafkaBus({
      brokers: kafkaBrokers,
      clientId: id,
      namespace,
      registry: new Registry(),
      logger,
      sessionTimeoutMs: 6000,
      heartbeatIntervalMs: 500,
    });
    buses.push(b);
    return b;
  };
  let storage: Storage;
  /** The same database without publishing: what a writer that died right after its append leaves for the sweeper. */
  let unpublished: EventLog;
  /** Counted versions of each stream, as written. */
  const written = new Map<string, number[]>();
  let writes = 0;

  const append = async (log: EventLog, stream: string, type: string) => {
    const result = await log.append(stream, [{ type, tenantId: 't', data: { n: writes++ } }], 'any');
    if (type === COUNTED) written.set(stream, [...(written.get(stream) ?? []), result.events[0]!.streamVersion]);
  };
  const stream = (i: number) => `conversation-t-handover-${i}`;
  /** One round over every stream: counted and other events, some published out of order, some left to the sweeper. */
  const round = async (r: number) => {
    for (let i = 0; i < STREAMS; i++) {
      if (i % 6 === 0) await append(storage.raw, stream(i), 'test.other');
      if ((r + i) % 5 === 0) {
        // Appended, not published: the next event of the stream reaches Kafka first.
        await append(unpublished, stream(i), COUNTED);
      }
      await append(storage.raw, stream(i), COUNTED);
    }
  };
  const records = async (runner: ProjectionRunner) => {
    const table = await runner.table('records');
    const rows = await storage.readModels.getMany<RecordRow>(table, [...written.keys()]);
    return new Map(rows.map((r) => [r.id, r.versions]));
  };
  /** Whether a generation holds at least what was written when the wait began (the writers go on meanwhile). */
  const reached = (runner: ProjectionRunner, what: string) => {
    const mark = [...written].map(([s, versions]) => [s, versions.length] as const);
    return waitFor(
      async () => {
        const seen = await records(runner);
        return mark.filter(([s, n]) => (seen.get(s) ?? []).length < n).length;
      },
      (behind) => behind === 0,
      { what: `${what} (streams behind)`, timeoutMs: 60_000, everyMs: 200 },
    );
  };
  const replica = (id: string) => {
    const runner = new ProjectionRunner({
      log: storage.log,
      store: storage.readModels,
      projection: recording,
      registry: new Registry(),
      logger,
      inStreamOrder: true,
    });
    const feed = new BusProjectionFeed({
      bus: bus(id),
      runner,
      projection: recording,
      groupId: 'handover-recording',
      topics: [eventsTopic('conversation')],
    });
    // Through Nest, as the services run it.
    let consuming: { close(): Promise<void> } | null = null;
    return {
      runner,
      start: async () => void (consuming = await runBusConsumer(feed.consumer)),
      stop: async () => consuming?.close(),
    };
  };

  before(async () => {
    const config = {
      PARLEY_STORE: 'mongo' as const,
      PARLEY_MONGO_URL: mongoUrl,
      PARLEY_MONGO_DATABASE: database,
      PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
      PARLEY_SQLITE_FILE: '',
    };
    storage = await openStorage(config, registry, { publish: { bus: bus('writer'), logger, sweepAgeMs: 300, sweepIntervalMs: 200 } });
    unpublished = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
  });
  after(async () => {
    await unpublished?.close();
    await storage?.close();
    for (const b of buses) await b.close();
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  it('applies every event once, in its stream order, across the handover, replicas joining and leaving, a bad record and a rebuild', async () => {
    for (let r = 0; r < 3; r++) await round(r);
    let r = 3;
    // Writers go on through everything that follows.
    let writing = true;
    // Paced (a round every 200 ms), so that the replicas keep up while it runs.
    const writer = (async () => {
      while (writing) {
        await round(r++);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    })();
    try {
      const first = replica('first');
      const handover = await first.runner.handOver();
      assert.equal(handover.fromLog, true, 'the first replica of a generation applies the log');
      assert.ok(handover.position > 0);
      await first.start();
      await reached(first.runner, 'the first replica caught up');

      // A second replica finds the position recorded and goes straight to the bus; the group splits the partitions.
      const second = replica('second');
      assert.deepEqual(await second.runner.handOver(), { position: handover.position, fromLog: false });
      await second.start();
      // A record that is no event, on the same topic and key as real ones: set aside, the rest flows on.
      const deadLetters: string[] = [];
      const poisoner = bus('poisoner');
      await poisoner.ensureTopics([{ name: `${eventsTopic('conversation')}.dead-letter`, partitions: 1 }]);
      await poisoner.subscribe({
        groupId: 'dead-letter-reader',
        topics: [`${eventsTopic('conversation')}.dead-letter`],
        handler: async (m) => void deadLetters.push(m.value?.toString('utf8') ?? ''),
      });
      await poisoner.publish(eventsTopic('conversation'), [{ key: stream(0), value: 'not an event', headers: { ce_type: COUNTED } }]);
      await reached(first.runner, 'caught up with two replicas');
      // The first leaves (its partitions go to the second) and comes back.
      await first.stop();
      await reached(second.runner, 'caught up with the second alone');
      const again = replica('first-again');
      await again.runner.handOver();
      await again.start();

      // A rebuild writes the next generation from the log while both replicas feed the current one, and switches.
      const rebuilder = new ProjectionRunner({ log: storage.log, store: storage.readModels, projection: recording, registry: new Registry(), logger });
      const before = await records(rebuilder);
      const rebuilt = await rebuilder.rebuild();
      assert.equal(rebuilt.generation, 2);
      writing = false;
      await writer;
      // The last events the sweeper publishes (left unpublished by a "dead" writer) reach the replicas too.
      await reached(second.runner, 'the rebuilt generation caught up');

      await waitFor(
        () => deadLetters,
        (d) => d.includes('not an event'),
        { what: 'the bad record dead-lettered', timeoutMs: 60_000 },
      );
      const expectExactly = (seen: Map<string, readonly number[]>, what: string) => {
        for (const [s, versions] of written) assert.deepEqual(seen.get(s), versions, `${what}: ${s} applied once each, in order`);
      };
      // Settled: nothing more arrives, and both generations hold exactly what was written (the first up to the switch).
      expectExactly(await records(second.runner), 'the rebuilt generation');
      for (const [s, versions] of before) assert.deepEqual(versions, written.get(s)!.slice(0, versions.length), `generation 1: ${s}`);
      assert.ok(r > 6, `writers kept writing through it all (${r} rounds)`);
      await again.stop();
      await second.stop();
    } finally {
      writing = false;
      await writer;
    }
  }, 180_000);
});
