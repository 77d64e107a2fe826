import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { MongoClient, type Collection } from 'mongodb';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { drainAll } from '../testing/event-log.contract';
import { prepareAppend } from '../event-envelope';
import { COMMIT_STRIDE, toDocuments, type EventDocument } from './mongo.documents';
import { MongoEventLog } from './mongo.event-log';

/**
 * What a crash leaves behind in MongoDB, written by hand, and how the log reads
 * it: an append cut short after its first document, and a commit number that was
 * claimed by nobody.
 */
describe('MongoDB event log after crashes (FerretDB)', () => {
  let client: MongoClient;
  let events: Collection<EventDocument>;
  let log: MongoEventLog;
  const database = uniqueName('parley_recovery').replace(/-/g, '_');

  before(async () => {
    const { mongoUrl } = infrastructure();
    client = await MongoClient.connect(mongoUrl);
    events = client.db(database).collection<EventDocument>('events');
    log = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry(), gapTimeoutMs: 1500 });
  });
  after(async () => {
    await log.close();
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('reads a whole append whose writer died after its first document, and lets the stream go on after it', async () => {
    const stream = uniqueName('conversation');
    const prepared = prepareAppend(
      stream,
      [1, 2, 3].map((i) => ({ type: 'test.noted', tenantId: 't', data: { i } })),
    );
    // Commit 1: the first append of this fresh database.
    const docs = toDocuments(stream, prepared, 0, 1, new Date().toISOString());
    await events.insertOne(docs[0]!); // the claim only: the process died here

    assert.equal(await log.streamVersion(stream), 3);
    assert.deepEqual(
      (await log.readStream(stream)).map((e) => [e.streamVersion, e.data]),
      [
        [1, { i: 1 }],
        [2, { i: 2 }],
        [3, { i: 3 }],
      ],
    );
    assert.deepEqual(
      (await log.readStream(stream, { from: 2, limit: 1 })).map((e) => e.id),
      [prepared[1]!.id],
    );
    assert.deepEqual(
      (await log.readStream(stream, { direction: 'backward', limit: 2 })).map((e) => e.streamVersion),
      [3, 2],
    );
    await assert.rejects(log.append(stream, [{ type: 'test.noted', tenantId: 't', data: {} }], 1), /actual 3/);
    const next = await log.append(stream, [{ type: 'test.noted', tenantId: 't', data: { i: 4 } }], 3);
    assert.equal(next.nextExpectedVersion, 4);

    // The relay's sweep completes the append, so each event can carry its mark.
    const unpublished = await log.readUnpublished({ limit: 100 });
    assert.deepEqual(
      unpublished.filter((e) => e.streamId === stream).map((e) => e.streamVersion),
      [1, 2, 3, 4],
    );
    assert.equal(await events.countDocuments({ streamId: stream }), 4);
    await log.markPublished(unpublished);
    assert.deepEqual(await log.readUnpublished({ limit: 100 }), []);
  });

  it('waits at a missing commit for a while, then passes over it', async () => {
    const { checkpoint: start } = await drainAll(log, 0);
    const first = await log.append(uniqueName('conversation'), [{ type: 'test.noted', tenantId: 't', data: {} }], 'no_stream');
    const commit = Math.floor(first.events[0]!.position / COMMIT_STRIDE);
    // A writer claimed nothing at commit + 1 (it died before inserting); a later one wrote at commit + 2.
    const stream = uniqueName('conversation');
    const later = toDocuments(stream, prepareAppend(stream, [{ type: 'test.noted', tenantId: 't', data: {} }]), 0, commit + 2, new Date().toISOString());
    await events.insertOne(later[0]!);

    const page = await log.readAll({ after: start });
    assert.deepEqual(
      page.events.map((e) => e.id),
      [first.events[0]!.id],
      'stops before the gap while it is young',
    );
    // The gap times out after 1.5 s; poll for it, with a deadline.
    const after = await waitFor(
      () => log.readAll({ after: page.checkpoint }),
      (p) => p.events.length > 0,
      { timeoutMs: 10_000, what: 'readAll to pass over the old gap' },
    );
    assert.deepEqual(
      after.events.map((e) => e.streamId),
      [stream],
      'passes over it once it is old',
    );
    assert.equal(after.checkpoint, (commit + 2) * COMMIT_STRIDE);
  });
});
