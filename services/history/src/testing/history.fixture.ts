import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { EVENT_CONTRACTS, personalFieldsOf, type ConversationEvent, type CustomerEvent } from '@parley/contracts';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION, type ConversationCommand, type ConversationState } from '@parley/conversation';
import type { CustomerCommand, CustomerState } from '@parley/customer';
import { CustomerDirectory } from '@parley/customer-directory';
import {
  DeciderStore,
  EncryptingEventLog,
  KeyWrapper,
  deriveKey,
  MongoEventLog,
  MongoSubjectKeyStore,
  SqliteEventLog,
  SqliteSubjectKeyStore,
  type EventLog,
  type SubjectKeyStore,
} from '@parley/event-log';
import { Registry } from '@parley/observability';
import { bearer as signedBearer, infrastructure, rpc, uniqueName } from '@parley/testing-support';
import { loadHistoryConfig } from '../config/history.config';
import { startHistory, type RunningHistory } from '../history.app';

/** Shared by the history service's specs: tokens, calls, and the two stores it runs on. */
export const SECRET = 'history-test-secret-at-least-32-bytes!';
export const MASTER = randomBytes(32).toString('base64');
export const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

export const bearer = (tenant: string, role = 'agent', subject = 'agent-1'): Promise<Metadata> => signedBearer(SECRET, tenant, role, subject);
export { rpc };

/** The history service on a backend, on loopback and free ports, with the specs' keys; `env` adds or overrides settings. */
export function startTestHistory(backend: Backend, env: Record<string, string> = {}, registry = new Registry()): Promise<RunningHistory> {
  return startHistory(
    loadHistoryConfig({
      ...backend.env,
      PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0',
      PARLEY_HISTORY_HTTP_PORT: '0',
      PARLEY_MASTER_KEY: MASTER,
      PARLEY_TOKEN_SECRETS: SECRET,
      ...env,
    }),
    { registry, httpHost: '127.0.0.1' },
  );
}

export interface Backend {
  env: Record<string, string>;
  /** Writes as ingress would: straight into the same log, through the domain. */
  seed(): Promise<Seed>;
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'parley-history-'));
  const file = join(dir, 'events.db');
  return {
    env: { PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: file },
    seed: async () => {
      const inner = new SqliteEventLog({ filename: file, registry: new Registry() });
      const keys = new SqliteSubjectKeyStore(file, new KeyWrapper(Buffer.from(MASTER, 'base64')));
      return seedOn(inner, keys, async () => {
        await inner.close();
        keys.close();
      });
    },
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function ferretBackend(): Backend {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_history').replace(/-/g, '_');
  return {
    env: { PARLEY_STORE: 'mongo', PARLEY_MONGO_URL: mongoUrl, PARLEY_MONGO_DATABASE: database },
    seed: async () => {
      const inner = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
      const client = await MongoClient.connect(mongoUrl);
      return seedOn(inner, new MongoSubjectKeyStore(client.db(database), new KeyWrapper(Buffer.from(MASTER, 'base64'))), async () => {
        await inner.close();
        await client.close();
      });
    },
    cleanup: async () => {
      const client = await MongoClient.connect(mongoUrl);
      await client.db(database).dropDatabase();
      await client.close();
    },
  };
}

export interface Seed {
  readonly log: EncryptingEventLog;
  readonly store: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>;
  readonly customers: DeciderStore<CustomerCommand, CustomerEvent, CustomerState>;
  /** Identities are linked through the directory, as ingress does, so each has its claim. */
  readonly directory: CustomerDirectory;
  close(): Promise<void>;
}

function seedOn(inner: EventLog, keys: SubjectKeyStore, close: () => Promise<void>): Seed {
  const log = new EncryptingEventLog(inner, keys, personalFieldsOf);
  const directory = new CustomerDirectory(log, deriveKey(Buffer.from(MASTER, 'base64'), 'identity-claims'));
  return {
    log,
    store: new DeciderStore({ log, decider: conversationDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION }),
    customers: directory.customers,
    directory,
    close,
  };
}

/** Runs a command to its end and collects what it printed. */
export function runProcess(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, [...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
