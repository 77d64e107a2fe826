import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { InProcessBus } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName } from '@parley/testing-support';
import type { EventLog } from '../event-log.port';
import { MongoEventLog } from '../mongo/mongo.event-log';
import { SqliteEventLog } from '../sqlite/sqlite.event-log';
import { LogLease } from './log.lease';
import { OutboxRelay } from './outbox.relay';

/** Candidates on one log with one clock the test moves: nothing waits for real time. */
function candidates(log: EventLog, name: string, count: number, clock: { t: number }, ttlMs = 20_000): LogLease[] {
  return Array.from({ length: count }, (_, i) => new LogLease({ log, name, holder: `replica-${i}`, ttlMs, registry: new Registry(), now: () => clock.t }));
}

function leaseSuite(adapter: string, open: () => Promise<EventLog>): void {
  describe(`log lease on ${adapter}`, () => {
    let log: EventLog;
    before(async () => {
      log = await open();
    });
    after(async () => {
      await log?.close();
    });

    it('is held by one candidate; the others are refused while it renews', async () => {
      const clock = { t: Date.parse('2026-12-06T10:00:00Z') };
      const [a, b] = candidates(log, uniqueName('lease'), 2, clock);
      assert.equal(await a!.tryHold(), true);
      assert.equal(await b!.tryHold(), false);
      assert.equal(a!.held(), true);
      assert.equal(b!.held(), false);
      for (let i = 0; i < 5; i++) {
        clock.t += 7_000;
        assert.equal(await a!.tryHold(), true, 'the holder renews');
        assert.equal(await b!.tryHold(), false, 'and keeps it');
      }
    });

    it('passes to another candidate once its holder stops renewing (killed), and not before', async () => {
      const clock = { t: Date.parse('2026-12-06T10:00:00Z') };
      const [a, b] = candidates(log, uniqueName('lease'), 2, clock);
      assert.equal(await a!.tryHold(), true);
      clock.t += 19_000;
      assert.equal(await b!.tryHold(), false, 'still within the TTL');
      assert.equal(a!.held(), false, 'the holder counts its lease as ended a margin before the others may take it');
      clock.t += 1_000;
      assert.equal(await b!.tryHold(), true, 'taken once the TTL has passed');
      assert.equal(await a!.tryHold(), false, 'the old holder, back, finds it taken');
      assert.equal(a!.held(), false);
    });

    it('goes to exactly one of many candidates asking at once', async () => {
      const clock = { t: Date.parse('2026-12-06T10:00:00Z') };
      const many = candidates(log, uniqueName('lease'), 8, clock);
      const results = await Promise.all(many.map((c) => c.tryHold()));
      assert.equal(results.filter(Boolean).length, 1, `holders: ${results.map(String).join(',')}`);
      // Expired, contested again: still one.
      clock.t += 25_000;
      const again = await Promise.all(many.map((c) => c.tryHold()));
      assert.equal(again.filter(Boolean).length, 1);
    });

    it('given back on stop, is taken at the next look, not after the TTL', async () => {
      const clock = { t: Date.parse('2026-12-06T10:00:00Z') };
      const name = uniqueName('lease');
      const [a, b] = candidates(log, name, 2, clock);
      a!.start();
      // start() looks at once; stop() waits for that look before giving the lease back.
      await a!.stop();
      assert.equal(await b!.tryHold(), true);
    });

    it('writes nothing the outbox publishes, and a relay that does not hold it does not sweep', async () => {
      const clock = { t: Date.now() };
      const name = uniqueName('lease');
      const [a, b] = candidates(log, name, 2, clock);
      await a!.tryHold();
      await b!.tryHold();
      const unpublished = await log.readUnpublished({ limit: 1000 });
      assert.deepEqual(
        unpublished.filter((e) => e.streamId === `parley-lease-${name}`),
        [],
      );
      const bus = new InProcessBus({ registry: new Registry() });
      const stream = uniqueName('conversation-t1');
      await log.append(stream, [{ type: 'test.happened', tenantId: 't1', data: { n: 1 } }], 'no_stream');
      const swept = new OutboxRelay({ log, bus, lease: b!, registry: new Registry(), sweepAgeMs: 0 });
      // Not the holder: its timer's passes do nothing; `sweep()` called directly always works (shutdown, tests).
      swept.start();
      await swept.stop();
      assert.ok(
        (await log.readUnpublished({ limit: 1000 })).some((e) => e.streamId === stream),
        'left for the holder',
      );
      const holder = new OutboxRelay({ log, bus, lease: a!, registry: new Registry(), sweepAgeMs: 0 });
      holder.start();
      await holder.stop();
      assert.ok(!(await log.readUnpublished({ limit: 1000 })).some((e) => e.streamId === stream), 'swept by the holder');
      await bus.close();
    });
  });
}

leaseSuite('SQLite', async () => new SqliteEventLog({ filename: ':memory:', registry: new Registry() }));

describe('on FerretDB', () => {
  const database = uniqueName('lease');
  let client: MongoClient;
  after(async () => {
    await client?.db(database).dropDatabase();
    await client?.close();
  });
  leaseSuite('MongoDB (FerretDB)', async () => {
    const { mongoUrl } = infrastructure();
    client = await MongoClient.connect(mongoUrl);
    return MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
  });
});
