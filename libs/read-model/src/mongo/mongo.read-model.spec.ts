import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { MongoClient } from 'mongodb';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { readModelContract } from '../testing/read-model.contract';
import { MongoReadModelStore } from './mongo.read-model';

readModelContract('MongoDB (FerretDB)', async () => {
  const { mongoUrl } = infrastructure();
  const client = await MongoClient.connect(mongoUrl);
  const database = uniqueName('parley_read_model').replace(/-/g, '_');
  return {
    store: new MongoReadModelStore(client.db(database)),
    cleanup: async () => {
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
});

/**
 * FerretDB hands PostgreSQL only equalities at the top level of a filter; anything
 * else (`$in`, `$and`) makes it read the whole collection, so a read's cost would
 * grow with the collection. What the adapter asks, as the server sees it.
 */
describe('MongoDB read models: only filters an index can answer', () => {
  it('looks documents up by _id one by one, and puts find equalities at the top level', async () => {
    const { mongoUrl } = infrastructure();
    const client = await MongoClient.connect(mongoUrl, { monitorCommands: true });
    const database = uniqueName('parley_read_model_filters').replace(/-/g, '_');
    const filters: string[] = [];
    client.on('commandStarted', (e) => {
      if (e.commandName === 'find') filters.push(JSON.stringify(e.command['filter']));
    });
    try {
      const store = new MongoReadModelStore(client.db(database));
      await store.upsertMany('rows', [
        { id: 'a', conversation: 'c1', at: 1 },
        { id: 'b', conversation: 'c1', at: 2 },
        { id: 'c', conversation: 'c2', at: 3 },
      ]);
      filters.length = 0;
      assert.deepEqual(
        (await store.getMany<{ id: string }>('rows', ['c', 'a', 'missing'])).map((d) => d.id),
        ['c', 'a'],
      );
      const first = await store.find<{ id: string }>('rows', { where: { conversation: 'c1' }, orderBy: { field: 'at', direction: 'asc' }, limit: 1 });
      const next = await store.find<{ id: string }>('rows', {
        where: { conversation: ['c1'] },
        orderBy: { field: 'at', direction: 'asc' },
        limit: 1,
        pageToken: first.nextPageToken,
      });
      assert.deepEqual([first.documents[0]!.id, next.documents[0]!.id], ['a', 'b']);
      assert.deepEqual(filters.slice(0, 3).sort(), ['{"_id":"a"}', '{"_id":"c"}', '{"_id":"missing"}']);
      assert.equal(filters[3], '{"conversation":"c1"}');
      assert.match(filters[4]!, /^\{"conversation":"c1","\$or":/);
    } finally {
      await client.db(database).dropDatabase();
      await client.close();
    }
  });
});
