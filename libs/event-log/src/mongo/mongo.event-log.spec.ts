import { MongoClient } from 'mongodb';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName } from '@parley/testing-support';
import { eventLogContract } from '../testing/event-log.contract';
import { MongoEventLog } from './mongo.event-log';

eventLogContract('MongoDB (FerretDB in the default test setup)', async () => {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_contract').replace(/-/g, '_');
  const opened: MongoEventLog[] = [];
  const open = async () => {
    const log = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
    opened.push(log);
    return log;
  };
  return {
    log: await open(),
    openAnother: open,
    cleanup: async () => {
      for (const log of opened) await log.close();
      const client = await MongoClient.connect(mongoUrl);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
});
