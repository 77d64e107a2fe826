import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { dirname } from 'node:path';
import { MongoClient } from 'mongodb';
import { personalFieldsOf } from '@parley/contracts';
import { EncryptingEventLog, KeyWrapper, MongoEventLog, MongoSubjectKeyStore, SqliteEventLog, SqliteSubjectKeyStore, type EventLog, type SubjectKeyStore } from '@parley/event-log';
import type { Registry } from '@parley/observability';
import { MongoReadModelStore, SqliteReadModelStore, type ReadModelStore } from '@parley/read-model';

export interface StorageConfig {
  readonly PARLEY_STORE: 'sqlite' | 'mongo';
  readonly PARLEY_SQLITE_FILE: string;
  readonly PARLEY_MONGO_URL?: string | undefined;
  readonly PARLEY_MONGO_DATABASE: string;
  /** base64 of 32 bytes: wraps every customer's data key. */
  readonly PARLEY_MASTER_KEY: string;
}

export interface Storage {
  /** The log as services use it: personal fields sealed per customer. */
  readonly log: EncryptingEventLog;
  /** The store underneath, for health checks and the outbox. */
  readonly raw: EventLog;
  readonly keys: SubjectKeyStore;
  readonly readModels: ReadModelStore;
  readonly masterKey: Buffer;
  close(): Promise<void>;
}

/** The same storage for every service of a deployment: SQLite in one process, MongoDB at scale. */
export async function openStorage(config: StorageConfig, registry: Registry): Promise<Storage> {
  const masterKey = Buffer.from(config.PARLEY_MASTER_KEY, 'base64');
  const wrapper = new KeyWrapper(masterKey);
  if (config.PARLEY_STORE === 'mongo') {
    if (!config.PARLEY_MONGO_URL) throw new Error('PARLEY_MONGO_URL is required with PARLEY_STORE=mongo');
    const raw = await MongoEventLog.connect(config.PARLEY_MONGO_URL, config.PARLEY_MONGO_DATABASE, { registry });
    const client = await MongoClient.connect(config.PARLEY_MONGO_URL);
    const db = client.db(config.PARLEY_MONGO_DATABASE);
    const keys = new MongoSubjectKeyStore(db, wrapper);
    return { log: new EncryptingEventLog(raw, keys, personalFieldsOf), raw, keys, readModels: new MongoReadModelStore(db), masterKey, close: async () => { await raw.close(); await client.close(); } };
  }
  mkdirSync(dirname(config.PARLEY_SQLITE_FILE), { recursive: true });
  // One connection for the log, the keys and the read models (see SqliteEventLogOptions.database).
  const database = new Database(config.PARLEY_SQLITE_FILE);
  const raw = new SqliteEventLog({ filename: config.PARLEY_SQLITE_FILE, database, registry });
  const keys = new SqliteSubjectKeyStore(database, wrapper);
  const readModels = new SqliteReadModelStore(database);
  return { log: new EncryptingEventLog(raw, keys, personalFieldsOf), raw, keys, readModels, masterKey, close: async () => { await raw.close(); } };
}
