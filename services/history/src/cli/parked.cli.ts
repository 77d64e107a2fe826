/**
 * `npm run parked -- list` | `npm run parked -- retry [<id or event id> ...]`: the
 * events a projection or dispatcher could not apply after its attempts and set
 * aside (ParleyEventsParked alerts on them). `retry` asks the running service to
 * apply them again (all of them without ids); it does so within a few seconds and
 * removes each one that goes through. Reads the same environment as the service
 * whose store it looks at (npm start: the data folder's SQLite file).
 */
import { MongoClient } from 'mongodb';
import { z } from 'zod';
import { MongoReadModelStore, SqliteReadModelStore, listParked, requestRetry, type ReadModelStore } from '@parley/read-model';
import { STORAGE_SETTINGS, parseSettings } from '@parley/storage';

/** The read models only: no master key needed to look at what was parked. */
async function openReadModels(): Promise<{ store: ReadModelStore; close(): Promise<void> }> {
  const { PARLEY_STORE, PARLEY_SQLITE_FILE, PARLEY_MONGO_URL, PARLEY_MONGO_DATABASE } = STORAGE_SETTINGS;
  const settings = parseSettings(z.object({ PARLEY_STORE, PARLEY_SQLITE_FILE, PARLEY_MONGO_URL, PARLEY_MONGO_DATABASE }), process.env);
  if (settings.PARLEY_STORE === 'mongo') {
    if (!settings.PARLEY_MONGO_URL) throw new Error('PARLEY_MONGO_URL is required with PARLEY_STORE=mongo');
    const client = await MongoClient.connect(settings.PARLEY_MONGO_URL);
    return { store: new MongoReadModelStore(client.db(settings.PARLEY_MONGO_DATABASE)), close: () => client.close() };
  }
  const store = new SqliteReadModelStore(settings.PARLEY_SQLITE_FILE);
  return { store, close: () => store.close() };
}

async function main(): Promise<void> {
  const [command, ...ids] = process.argv.slice(2);
  if (command !== 'list' && command !== 'retry') {
    process.stderr.write('usage: parked list | parked retry [<id or event id> ...]\n');
    process.exit(2);
  }
  const storage = await openReadModels();
  try {
    if (command === 'list') {
      const parked = await listParked(storage.store);
      for (const p of parked)
        process.stdout.write(
          `${JSON.stringify({ id: p.id, projection: p.projection, eventId: p.eventId, type: p.type, streamId: p.streamId, position: p.position, parkedAt: p.parkedAt, attempts: p.attempts, retryRequested: p.retryRequested, reason: p.reason })}\n`,
        );
      process.stderr.write(`${parked.length} parked\n`);
    } else {
      const asked = await requestRetry(storage.store, ids.length ? ids : undefined);
      process.stdout.write(`asked for another try: ${asked}\n`);
    }
  } finally {
    await storage.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`parked failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
