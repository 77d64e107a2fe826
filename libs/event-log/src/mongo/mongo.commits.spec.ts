import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { MongoEventLog } from './mongo.event-log';

/**
 * Commit numbers (global positions) are claimed by inserting the next one; a
 * replica that appends seldom (availability renewing a lease) finds hundreds
 * claimed by the others since its last append, and finds the highest by
 * look-ups, however many there are.
 */
describe('MongoDB event log: a writer far behind on commit numbers (FerretDB)', () => {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_commits').replace(/-/g, '_');
  let busy: MongoEventLog;
  let seldom: MongoEventLog;
  let watched: MongoClient;
  let commitInserts = 0;
  const commitReads: string[] = [];
  const eventFinds: string[] = [];

  before(async () => {
    busy = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
    watched = await MongoClient.connect(mongoUrl, { monitorCommands: true });
    watched.on('commandStarted', (e) => {
      if (e.commandName === 'insert' && e.command['insert'] === 'commits') commitInserts++;
      // How the writer looks for the highest number taken: the command and its filter.
      const collection = e.command[e.commandName];
      if (collection === 'events' && e.commandName === 'find') eventFinds.push(JSON.stringify(e.command['filter']));
      if (collection === 'commits' && e.commandName !== 'insert')
        commitReads.push(
          `${e.commandName} ${JSON.stringify(e.command['filter'] ?? e.command['query'] ?? e.command['pipeline'] ?? {})}${e.command['sort'] ? ' sorted' : ''}`,
        );
    });
    seldom = new MongoEventLog({ db: watched.db(database), registry: new Registry() });
  });
  after(async () => {
    await busy.close();
    await watched.db(database).dropDatabase();
    await watched.close();
  });

  it('catches up in a few round trips, not one insert per number the others claimed, and keeps the numbers dense', async () => {
    await seldom.append('lease-seldom', [{ type: 'test.noted', tenantId: 't', data: {} }], 'no_stream');
    for (let i = 0; i < 200; i++) await busy.append(`conversation-t-${i}`, [{ type: 'test.noted', tenantId: 't', data: { i } }], 'no_stream');
    commitInserts = 0;
    commitReads.length = 0;
    const { events } = await seldom.append('lease-seldom', [{ type: 'test.noted', tenantId: 't', data: {} }], 1);
    assert.ok(commitInserts <= 4, `commit numbers tried: ${commitInserts}`);
    // Only look-ups by _id, a few of them: never a count or a sort, which FerretDB answers by reading every commit.
    assert.ok(
      commitReads.every((r) => /^find \{"_id":\d+\}$/.test(r)),
      commitReads.join('\n'),
    );
    assert.ok(commitReads.length <= 2 * Math.ceil(Math.log2(200)) + 2, `look-ups: ${commitReads.length}`);
    // Dense: one number per append, none skipped (a hole would make readers wait for it).
    const commits = await watched.db(database).collection<{ _id: number }>('commits').find({}).toArray();
    assert.deepEqual(
      commits.map((c) => c._id).sort((a, b) => a - b),
      Array.from({ length: 202 }, (_, i) => i + 1),
    );
    let after = 0;
    const positions: number[] = [];
    for (;;) {
      const page = await busy.readAll({ after, limit: 500 });
      positions.push(...page.events.map((e) => e.position));
      if (page.checkpoint === after) break;
      after = page.checkpoint;
    }
    assert.equal(positions.length, 202);
    assert.equal(positions.at(-1), events[0]!.position);
  });

  it('checks the event ids of a multi-event append one look-up each, never with $in (which FerretDB answers by reading every event)', async () => {
    eventFinds.length = 0;
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    await seldom.append(
      'conversation-t-multi',
      ids.map((id) => ({ id, type: 'test.noted', tenantId: 't', data: {} })),
      'no_stream',
    );
    const byId = eventFinds.filter((f) => f.includes('eventId'));
    assert.deepEqual(byId.sort(), ids.map((id) => JSON.stringify({ eventId: id })).sort());
    assert.ok(
      eventFinds.every((f) => !f.includes('$in')),
      eventFinds.join('\n'),
    );
  });
});
