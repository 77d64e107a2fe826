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
