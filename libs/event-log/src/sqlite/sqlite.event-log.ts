import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { defaultRegistry, gauge, type Registry } from '@parley/observability';
import { prepareAppend, type NewEvent, type RecordedEvent } from '../event-envelope';
import { classifyConflict, toRecorded, type AppendRequest, type StoredIdentity } from '../append-request';
import { WrongExpectedVersionError } from '../event-log.errors';
import { checkTypes } from '../event-types';
import { EventLogMetrics } from '../event-log.metrics';
import {
  expectationHolds,
  type AppendResult,
  type EventLog,
  type EventRef,
  type ExpectedVersion,
  type ReadAllOptions,
  type ReadAllResult,
  type ReadStreamOptions,
  type ReadUnpublishedOptions,
  type StreamFact,
  type Snapshot,
} from '../event-log.port';
import { GroupCommitQueue } from '../group-commit/group-commit.queue';
import type { CheckpointReport, CheckpointWorkerData } from './sqlite.checkpoint.worker';

export interface SqliteEventLogOptions {
  /** A file path, or ':memory:' for tests. */
  readonly filename: string;
  /**
   * A connection to share with the other stores of the process (keys, read
   * models). better-sqlite3 is synchronous: a second connection waiting for the
   * write lock would block the whole event loop, so one process uses one.
   * One event log per connection: the log remembers stream heads and learns of
   * other connections' writes only (SQLite's data_version).
   */
  readonly database?: Database.Database;
  readonly registry?: Registry;
  readonly maxBatchSize?: number;
  /** Stream heads remembered, so that a reader asking for what is new past the head costs no query. */
  readonly headCacheSize?: number;
  /** How often the checkpoint thread copies the write-ahead log back into the file (a file database only). */
  readonly checkpointIntervalMs?: number;
}

/**
 * Pages the write-ahead log may hold before the appending connection checkpoints
 * it itself: only when the checkpoint thread falls that far behind.
 */
const BACKSTOP_CHECKPOINT_PAGES = 8192;

/** How far past its checkpoint a read of some types looks, in pages of the size asked for. */
const TYPED_SCAN_PAGES = 20;

type TypedStatement = (from: number, to: number, limit: number) => EventRow[];

interface EventRow {
  position: number;
  id: string;
  stream_id: string;
  stream_version: number;
  type: string;
  schema_version: number;
  tenant_id: string;
  occurred_at: string;
  recorded_at: string;
  correlation_id: string;
  causation_id: string | null;
  data: string;
  metadata: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS events (
  position        INTEGER PRIMARY KEY AUTOINCREMENT,
  id              TEXT    NOT NULL UNIQUE,
  stream_id       TEXT    NOT NULL,
  stream_version  INTEGER NOT NULL,
  type            TEXT    NOT NULL,
  schema_version  INTEGER NOT NULL,
  tenant_id       TEXT    NOT NULL,
  occurred_at     TEXT    NOT NULL,
  recorded_at     TEXT    NOT NULL,
  correlation_id  TEXT    NOT NULL,
  causation_id    TEXT,
  data            TEXT    NOT NULL,
  metadata        TEXT    NOT NULL,
  published       INTEGER NOT NULL DEFAULT 0,
  UNIQUE (stream_id, stream_version)
);
CREATE INDEX IF NOT EXISTS events_unpublished ON events (position) WHERE published = 0;
CREATE TABLE IF NOT EXISTS snapshots (
  stream_id       TEXT    NOT NULL,
  version         INTEGER NOT NULL,
  schema_version  INTEGER NOT NULL,
  state           TEXT    NOT NULL,
  taken_at        TEXT    NOT NULL,
  PRIMARY KEY (stream_id, version)
);
CREATE TABLE IF NOT EXISTS stream_facts (
  stream_id       TEXT    NOT NULL,
  key             TEXT    NOT NULL,
  version         INTEGER NOT NULL,
  value           TEXT    NOT NULL,
  PRIMARY KEY (stream_id, key, version)
) WITHOUT ROWID;
`;

/**
 * The embedded-mode event log on SQLite (WAL). SQLite has one writer at a time;
 * group commit makes that one writer write every waiting append in a single
 * transaction, each append inside its own savepoint so that one conflict does
 * not undo the others.
 */
export class SqliteEventLog implements EventLog {
  private readonly db: Database.Database;
  private readonly queue: GroupCommitQueue<AppendRequest, AppendResult>;
  private readonly metrics: EventLogMetrics;
  private readonly statements;
  /**
   * The last version of streams whose head this connection knows exactly (it
   * wrote or read up to it). Valid while no other connection wrote: SQLite's
   * data_version moves only for other connections' commits, and then every
   * entry is dropped.
   */
  private readonly heads = new Map<string, number>();
  private readonly headCacheSize: number;
  private readonly typedStatements = new Map<string, TypedStatement>();
  private readonly transactions;
  private seenDataVersion: number;
  private dataVersionFresh = false;
  /** The write-ahead log, synced off the main thread before appends are acknowledged (null: in memory). */
  private wal: Promise<FileHandle | null> | null = null;
  private readonly walFile: string | null;
  private readonly checkpointer: Worker | null = null;

  constructor(options: SqliteEventLogOptions) {
    this.db = options.database ?? new Database(options.filename);
    this.db.pragma('journal_mode = WAL');
    // Durable before acknowledged, even across a power loss, without the event loop
    // waiting for the disk: commits do not fsync (NORMAL), and every batch's append
    // results wait for an fsync of the write-ahead log on libuv's thread pool (see
    // durable()). SQLite itself still syncs around every checkpoint. In memory: nothing to sync.
    this.walFile = options.filename === ':memory:' || options.filename === '' ? null : `${options.filename}-wal`;
    this.db.pragma(this.walFile ? 'synchronous = NORMAL' : 'synchronous = FULL');
    if (this.walFile) {
      // Checkpoints on a thread of their own (sqlite.checkpoint.worker.ts); this
      // connection checkpoints only if that thread falls far behind.
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_CHECKPOINT_PAGES}`);
      this.checkpointer = startCheckpointer(options.filename, options.checkpointIntervalMs ?? 50, options.registry ?? defaultRegistry());
    }
    this.db.pragma('busy_timeout = 5000');
    // 32 MiB of pages (the default is 2 MiB): the recent streams a busy ingress rereads stay in memory.
    this.db.pragma('cache_size = -32768');
    this.db.exec(SCHEMA);
    this.headCacheSize = options.headCacheSize ?? 50_000;
    this.metrics = new EventLogMetrics('sqlite', options.registry);
    // Every LIMIT is bound through CAST(? AS INTEGER): with a bare `LIMIT ?` SQLite plans the query again each time.
    this.statements = {
      head: this.db.prepare<[string], { v: number | null }>('SELECT MAX(stream_version) AS v FROM events WHERE stream_id = ?'),
      // Bound by position: named parameters are looked up by name on every row.
      insert: this.db.prepare<[string, string, number, string, number, string, string, string, string, string | null, string, string]>(
        `INSERT INTO events (id, stream_id, stream_version, type, schema_version, tenant_id, occurred_at, recorded_at,
           correlation_id, causation_id, data, metadata)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      forward: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND stream_version >= ? ORDER BY stream_version ASC LIMIT CAST(? AS INTEGER)',
      ),
      backward: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE stream_id = ? AND stream_version <= ? ORDER BY stream_version DESC LIMIT CAST(? AS INTEGER)',
      ),
      all: this.db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE position > ? ORDER BY position ASC LIMIT CAST(? AS INTEGER)'),
      unpublished: this.db.prepare<[string, number, number], EventRow>(
        'SELECT * FROM events WHERE published = 0 AND recorded_at < ? AND position > ? ORDER BY position ASC LIMIT CAST(? AS INTEGER)',
      ),
      saveSnapshot: this.db.prepare('INSERT OR IGNORE INTO snapshots (stream_id, version, schema_version, state, taken_at) VALUES (?, ?, ?, ?, ?)'),
      saveFact: this.db.prepare('INSERT OR IGNORE INTO stream_facts (stream_id, key, version, value) VALUES (?, ?, ?, ?)'),
      loadFact: this.db.prepare<[string, string], string>('SELECT value FROM stream_facts WHERE stream_id = ? AND key = ? ORDER BY version ASC').pluck(),
      last: this.db.prepare<[], number | null>('SELECT MAX(position) FROM events').pluck(),
      dataVersion: this.db.prepare<[], number>('PRAGMA data_version').pluck(),
      loadSnapshot: this.db.prepare<[string], { stream_id: string; version: number; schema_version: number; state: string; taken_at: string }>(
        'SELECT * FROM snapshots WHERE stream_id = ? ORDER BY version DESC LIMIT 1',
      ),
    };
    this.seenDataVersion = this.statements.dataVersion.get() ?? 0;
    this.transactions = this.makeTransactions();
    this.queue = new GroupCommitQueue(async (batch) => {
      const results = this.writeBatch(batch);
      await this.durable();
      return results;
    }, options.maxBatchSize);
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events);
    return this.queue.submit({ streamId, events: prepared, expected });
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<readonly RecordedEvent[]> {
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    if (options.direction === 'backward') return this.statements.backward.all(streamId, options.from ?? Number.MAX_SAFE_INTEGER, limit).map(fromRow);
    const from = options.from ?? 1;
    const head = this.knownHead(streamId);
    // The common question of a cached state ("anything new?") answered from memory.
    if (head !== undefined && from > head) return [];
    const rows = this.statements.forward.all(streamId, from, limit);
    if (rows.length > 0 && rows.length < limit) this.rememberHead(streamId, rows.at(-1)!.stream_version);
    // Nothing from the start: the stream does not exist yet (a first contact asks again at once).
    else if (rows.length === 0 && from <= 1) this.rememberHead(streamId, 0);
    return rows.map(fromRow);
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.headOf(streamId);
  }

  async readAll(options: ReadAllOptions): Promise<ReadAllResult> {
    // Positions come from the single writer inside its transaction, so they become
    // visible in order: no reader can ever see N+1 before N.
    const limit = options.limit ?? 1000;
    if (options.types) return this.readAllOf(options.types, options.after, limit);
    const events = this.statements.all.all(options.after, limit).map(fromRow);
    return { events, checkpoint: events.at(-1)?.position ?? options.after };
  }

  /**
   * The events of some types only, filtered by SQLite: the others are never
   * turned into JavaScript objects (a follower of conversations passes over the
   * identity and customer events of a first contact, four of its six). One read
   * scans at most TYPED_SCAN_PAGES pages' worth of positions, so a reader far
   * behind a log of other types still gets an answer soon, with its checkpoint moved.
   */
  private readAllOf(types: readonly string[], after: number, limit: number): ReadAllResult {
    const key = types.join(' ');
    let statement = this.typedStatements.get(key);
    if (!statement) {
      // Checked once per list: a list with a statement made for it was valid.
      checkTypes(types);
      // A family 'conversation.' is the range ['conversation.', 'conversation/') ('/' follows '.'): no LIKE, which ignores case.
      const conditions = types.map((t) => (t.endsWith('.') ? '(type >= ? AND type < ?)' : 'type = ?'));
      const values = types.flatMap((t) => (t.endsWith('.') ? [t, `${t.slice(0, -1)}/`] : [t]));
      const prepared = this.db.prepare<unknown[], EventRow>(
        `SELECT * FROM events WHERE position > ? AND position <= ? AND (${conditions.join(' OR ')}) ORDER BY position ASC LIMIT CAST(? AS INTEGER)`,
      );
      statement = (from: number, to: number, n: number) => prepared.all(from, to, ...values, n);
      this.typedStatements.set(key, statement);
    }
    const until = Math.min(Number.MAX_SAFE_INTEGER, after + Math.max(limit, 1) * TYPED_SCAN_PAGES);
    return this.transactions.typedPage(statement, after, until, limit);
  }

  async lastPosition(): Promise<number> {
    return this.statements.last.get() ?? 0;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.statements.saveSnapshot.run(snapshot.streamId, snapshot.version, snapshot.schemaVersion, JSON.stringify(snapshot.state), snapshot.takenAt);
  }

  async saveFacts(streamId: string, version: number, facts: readonly StreamFact[]): Promise<void> {
    if (facts.length === 0) return;
    const insert = this.statements.saveFact;
    this.db.transaction(() => {
      for (const fact of facts) insert.run(streamId, fact.key, version, JSON.stringify(fact.value));
    })();
  }

  async loadFacts(streamId: string, keys: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>> {
    const found = new Map<string, unknown[]>();
    for (const key of new Set(keys)) {
      const values = this.statements.loadFact.all(streamId, key);
      if (values.length > 0)
        found.set(
          key,
          values.map((v) => JSON.parse(v)),
        );
    }
    return found;
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | null> {
    // A stream known to be empty has no snapshot either.
    if (this.knownHead(streamId) === 0) return null;
    const row = this.statements.loadSnapshot.get(streamId);
    if (!row) return null;
    return { streamId: row.stream_id, version: row.version, schemaVersion: row.schema_version, state: JSON.parse(row.state), takenAt: row.taken_at };
  }

  async readUnpublished(options: ReadUnpublishedOptions): Promise<readonly RecordedEvent[]> {
    const before = options.recordedBefore?.toISOString() ?? '9999-12-31T23:59:59.999Z';
    return this.statements.unpublished.all(before, options.afterPosition ?? 0, options.limit).map(fromRow);
  }

  async markPublished(events: readonly EventRef[]): Promise<void> {
    const eventIds = events.map((e) => e.id);
    if (eventIds.length === 0) return;
    const mark = this.db.prepare(`UPDATE events SET published = 1 WHERE id IN (${eventIds.map(() => '?').join(',')})`);
    mark.run(...eventIds);
  }

  async close(): Promise<void> {
    await this.queue.close();
    await stopCheckpointer(this.checkpointer);
    const wal = await this.wal;
    this.wal = null;
    await wal?.close();
    if (this.db.open) this.db.close();
  }

  /**
   * Everything committed so far is on disk when this returns: an fsync of the
   * write-ahead log (the file the commits went to), run on libuv's thread pool so
   * that the event loop serves other requests meanwhile.
   */
  private async durable(): Promise<void> {
    if (!this.walFile) return;
    this.wal ??= open(this.walFile, 'r+').catch(() => null);
    const wal = await this.wal;
    if (wal) return wal.datasync();
    // No write-ahead log to sync (another journal mode): make the commit durable the slow way.
    this.wal = null;
    this.db.pragma('wal_checkpoint(FULL)');
  }

  /**
   * `exact` asks SQLite whether another connection committed; otherwise its last
   * answer serves until the current task ends (its process.nextTick queue runs
   * after all of its promise callbacks, before the event loop goes on). Another
   * process's commit can reach this one only through I/O, which runs in a later
   * task, so asking again before then cannot tell anything the caller could
   * know to expect (a first contact asked about 20 times, 5 % of its time; until
   * the microtasks queued at the first question had run, a quarter more often).
   */
  private knownHead(streamId: string, exact = false): number | undefined {
    if (exact || !this.dataVersionFresh) {
      const version = this.statements.dataVersion.get() ?? 0;
      if (version !== this.seenDataVersion) {
        this.heads.clear();
        this.seenDataVersion = version;
      }
      if (!this.dataVersionFresh) {
        this.dataVersionFresh = true;
        process.nextTick(this.forgetDataVersion);
      }
    }
    return this.heads.get(streamId);
  }

  private readonly forgetDataVersion = (): void => {
    this.dataVersionFresh = false;
  };

  private headOf(streamId: string): number {
    const known = this.knownHead(streamId);
    if (known !== undefined) return known;
    const head = this.statements.head.get(streamId)?.v ?? 0;
    this.rememberHead(streamId, head);
    return head;
  }

  private rememberHead(streamId: string, version: number): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, version);
    if (this.heads.size > this.headCacheSize) this.heads.delete(this.heads.keys().next().value!);
  }

  private writeBatch(batch: readonly AppendRequest[]): (AppendResult | Error)[] {
    const started = process.hrtime.bigint();
    const results = this.transactions.batch.immediate(batch);
    // Only now, after the commit: a rolled-back batch leaves the heads as they were.
    for (const result of results) if (!(result instanceof Error) && !result.alreadyStored) this.rememberHead(result.streamId, result.nextExpectedVersion);
    this.metrics.observeBatch(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    return results;
  }

  /** Made once: better-sqlite3 builds a transaction function anew on every call of db.transaction (2.5 % of a busy ingress). */
  private makeTransactions() {
    const appendOne = this.db.transaction((request: AppendRequest) => this.appendInSavepoint(request));
    return {
      batch: this.db.transaction((batch: readonly AppendRequest[]) => {
        // Inside the write lock, so the heads checked here stay true until the commit.
        this.knownHead('', true);
        const results: (AppendResult | Error)[] = [];
        for (const request of batch) {
          try {
            results.push(appendOne(request));
          } catch (error) {
            results.push(this.explain(request, error));
          }
        }
        return results;
      }),
      // One read transaction: the head read is the one the page was read at.
      typedPage: this.db.transaction((statement: TypedStatement, after: number, until: number, limit: number): ReadAllResult => {
        const events = statement(after, until, limit).map(fromRow);
        if (events.length === limit) return { events, checkpoint: events.at(-1)!.position! };
        const head = this.statements.last.get() ?? 0;
        return { events, checkpoint: Math.max(after, Math.min(until, head)) };
      }),
    };
  }

  private appendInSavepoint(request: AppendRequest): AppendResult {
    // A stream expected not to exist is not asked for its head: were it there after
    // all, its version 1 breaks UNIQUE (stream_id, stream_version), and explain()
    // turns that into the same WrongExpectedVersionError (a first contact writes two such streams).
    const head =
      this.heads.get(request.streamId) ??
      (request.expected === 0 || request.expected === 'no_stream' ? 0 : (this.statements.head.get(request.streamId)?.v ?? 0));
    if (!expectationHolds(request.expected, head)) throw new WrongExpectedVersionError(request.streamId, request.expected, head);
    const recordedAt = new Date().toISOString();
    const recorded = request.events.map((event, i) => {
      const streamVersion = head + i + 1;
      const info = this.statements.insert.run(
        event.id,
        request.streamId,
        streamVersion,
        event.type,
        event.schemaVersion,
        event.tenantId,
        event.occurredAt,
        recordedAt,
        event.correlationId,
        event.causationId,
        JSON.stringify(event.data),
        JSON.stringify(event.metadata),
      );
      return toRecorded(request.streamId, event, streamVersion, Number(info.lastInsertRowid), recordedAt);
    });
    return { streamId: request.streamId, nextExpectedVersion: head + request.events.length, events: recorded, alreadyStored: false };
  }

  /** After a failed append (its savepoint rolled back): a retry of a stored append, a conflict, or a real error. */
  private explain(request: AppendRequest, error: unknown): AppendResult | Error {
    const conflict = error instanceof WrongExpectedVersionError || (error as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE';
    if (!conflict) return error instanceof Error ? error : new Error(String(error));
    const ids = request.events.map((e) => e.id);
    const stored = this.db
      .prepare<string[], { id: string; stream_id: string; stream_version: number }>(
        `SELECT id, stream_id, stream_version FROM events WHERE id IN (${ids.map(() => '?').join(',')})`,
      )
      .all(...ids)
      .map((r): StoredIdentity => ({ id: r.id, streamId: r.stream_id, streamVersion: r.stream_version }));
    const verdict = classifyConflict(request, stored);
    if (verdict instanceof Error) return verdict;
    if (verdict === 'conflict') {
      const actual = this.statements.head.get(request.streamId)?.v ?? 0;
      return error instanceof WrongExpectedVersionError ? error : new WrongExpectedVersionError(request.streamId, request.expected, actual);
    }
    const first = Math.min(...stored.map((s) => s.streamVersion));
    const events = this.statements.forward.all(request.streamId, first, request.events.length).map(fromRow);
    return { streamId: request.streamId, nextExpectedVersion: first + events.length - 1, events, alreadyStored: true };
  }
}

function fromRow(row: EventRow): RecordedEvent {
  return {
    id: row.id,
    type: row.type,
    schemaVersion: row.schema_version,
    streamId: row.stream_id,
    streamVersion: row.stream_version,
    tenantId: row.tenant_id,
    occurredAt: row.occurred_at,
    recordedAt: row.recorded_at,
    correlationId: row.correlation_id,
    causationId: row.causation_id,
    data: JSON.parse(row.data),
    metadata: JSON.parse(row.metadata),
    position: row.position,
  };
}

function startCheckpointer(filename: string, intervalMs: number, registry: Registry): Worker {
  const behind = gauge(registry, {
    name: 'parley_event_log_wal_frames_behind',
    help: 'Pages in the SQLite write-ahead log not yet copied back into the database file.',
    labelNames: ['adapter'] as const,
  });
  const worker = new Worker(join(__dirname, 'sqlite.checkpoint.worker.js'), { workerData: { filename, intervalMs } satisfies CheckpointWorkerData });
  worker.on('message', (report: CheckpointReport | 'stopped') => {
    if (report !== 'stopped') behind.set({ adapter: 'sqlite' }, Math.max(0, report.log - report.checkpointed));
  });
  // A failed checkpoint thread leaves checkpoints to the appending connection (the backstop); nothing is lost, but say so.
  worker.on('error', (error) =>
    process.emitWarning(`SQLite checkpoint thread stopped, the appending connection checkpoints from now on: ${error.message}`, {
      code: 'PARLEY_SQLITE_CHECKPOINTER',
    }),
  );
  // It must not keep a process alive that has nothing else to do.
  worker.unref();
  return worker;
}

async function stopCheckpointer(worker: Worker | null): Promise<void> {
  if (!worker) return;
  // Held open until it has stopped: closing this connection last makes it the one
  // that checkpoints and removes the write-ahead log.
  worker.ref();
  let timer: NodeJS.Timeout | undefined;
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  worker.postMessage('stop');
  await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)))]);
  clearTimeout(timer);
  await worker.terminate();
}
