import { mkdirSync } from 'node:fs';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { InvalidArgumentError, fieldViolations } from '@parley/errors';
import { dirname, join } from 'node:path';
import { FileSystemBlobStore, GridFsBlobStore, type BlobStore } from '@parley/blob-store';
import { MongoClient } from 'mongodb';
import { personalFieldsOf } from '@parley/contracts';
import {
  EncryptingEventLog,
  KeyWrapper,
  MongoEventLog,
  MongoSubjectKeyStore,
  SqliteEventLog,
  SqliteSubjectKeyStore,
  type EventLog,
  type SubjectKeyStore,
} from '@parley/event-log';
import type { Registry } from '@parley/observability';
import { startPublishing, type PublishSettings } from './outbox.publishing';

export type { PublishSettings } from './outbox.publishing';
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
  /** Attachments' bytes: beside the SQLite file (`blobs/`), in GridFS at scale. */
  readonly blobs: BlobStore;
  readonly masterKey: Buffer;
  close(): Promise<void>;
}

/** The same storage for every service of a deployment: SQLite in one process, MongoDB at scale. */
export async function openStorage(config: StorageConfig, registry: Registry, options: { publish?: PublishSettings } = {}): Promise<Storage> {
  const masterKey = Buffer.from(config.PARLEY_MASTER_KEY, 'base64');
  const wrapper = new KeyWrapper(masterKey);
  if (config.PARLEY_STORE === 'mongo') {
    if (!config.PARLEY_MONGO_URL) throw new Error('PARLEY_MONGO_URL is required with PARLEY_STORE=mongo');
    const stored = await MongoEventLog.connect(config.PARLEY_MONGO_URL, config.PARLEY_MONGO_DATABASE, { registry });
    const publishing = options.publish ? await startPublishing(stored, options.publish, registry) : null;
    const raw = publishing?.log ?? stored;
    const client = await MongoClient.connect(config.PARLEY_MONGO_URL);
    const db = client.db(config.PARLEY_MONGO_DATABASE);
    const keys = new MongoSubjectKeyStore(db, wrapper);
    return {
      log: new EncryptingEventLog(raw, keys, personalFieldsOf),
      raw,
      keys,
      readModels: new MongoReadModelStore(db),
      blobs: new GridFsBlobStore(db),
      masterKey,
      close: async () => {
        await publishing?.stop();
        await raw.close();
        await client.close();
      },
    };
  }
  mkdirSync(dirname(config.PARLEY_SQLITE_FILE), { recursive: true });
  // One connection for the log, the keys and the read models (see SqliteEventLogOptions.database).
  const database = new Database(config.PARLEY_SQLITE_FILE);
  const stored = new SqliteEventLog({ filename: config.PARLEY_SQLITE_FILE, database, registry });
  const publishing = options.publish ? await startPublishing(stored, options.publish, registry) : null;
  const raw = publishing?.log ?? stored;
  const keys = new SqliteSubjectKeyStore(database, wrapper);
  const readModels = new SqliteReadModelStore(database);
  return {
    log: new EncryptingEventLog(raw, keys, personalFieldsOf),
    raw,
    keys,
    readModels,
    blobs: new FileSystemBlobStore(join(dirname(config.PARLEY_SQLITE_FILE), 'blobs')),
    masterKey,
    close: async () => {
      await publishing?.stop();
      await raw.close();
    },
  };
}

/** The storage settings every service reads, as zod fields: one definition, documented once. */
export const STORAGE_SETTINGS = {
  PARLEY_STORE: z.enum(['sqlite', 'mongo']).default('sqlite'),
  PARLEY_SQLITE_FILE: z.string().default('.data/events.db'),
  PARLEY_MONGO_URL: z.string().optional(),
  PARLEY_MONGO_DATABASE: z.string().default('parley'),
  /** 32 bytes, base64: wraps every customer's data key. */
  PARLEY_MASTER_KEY: z.string().refine((v) => Buffer.from(v, 'base64').length === 32, 'base64 of 32 bytes'),
  /** Kafka, comma-separated: every instance publishes the events it appends there, and the services consume them. */
  PARLEY_KAFKA_BROKERS: z.string().optional(),
  /** Put in front of every Kafka topic and consumer group name, for several deployments on one cluster (e.g. `staging.`). */
  PARLEY_KAFKA_NAMESPACE: z
    .string()
    .regex(/^[a-zA-Z0-9._-]{0,100}$/, 'letters, digits, dots, dashes and underscores')
    .default(''),
};

/** Reads a service's settings from the environment; every problem is named at once. */
export function parseSettings<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv): z.infer<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new InvalidArgumentError('invalid configuration', fieldViolations(parsed.error.issues));
  const data = parsed.data as z.infer<S> & Partial<StorageConfig>;
  if (data.PARLEY_STORE === 'mongo' && !data.PARLEY_MONGO_URL)
    throw new InvalidArgumentError('invalid configuration', [{ field: 'PARLEY_MONGO_URL', description: 'required with PARLEY_STORE=mongo' }]);
  return parsed.data;
}
