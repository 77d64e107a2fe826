import { MongoBulkWriteError, MongoClient, type Collection, type Db, type OptionalUnlessRequiredId } from 'mongodb';
import type { Registry } from '@parley/observability';
import { prepareAppend, type NewEvent, type RecordedEvent } from '../event-envelope';
import { classifyConflict, type AppendRequest, type StoredIdentity } from '../append-request';
import { checkTypes, typeMatcher } from '../event-types';
import { WrongExpectedVersionError } from '../event-log.errors';
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
  type Snapshot,
  type StreamFact,
} from '../event-log.port';
import { GroupCommitQueue } from '../group-commit/group-commit.queue';
import {
  COMMIT_STRIDE,
  VOID_TYPE,
  commitOf,
  expandClaim,
  fromDocument,
  slotId,
  toDocuments,
  voidDocument,
  type EventDocument,
  type SnapshotDocument,
} from './mongo.documents';

interface FactDocument {
  _id: string;
  streamId: string;
  key: string;
  version: number;
  /** JSON text, as event payloads. */
  value: string;
}

export interface MongoEventLogOptions {
  readonly db: Db;
  readonly collectionPrefix?: string;
  readonly registry?: Registry;
  readonly maxBatchSize?: number;
  /**
   * How long `readAll` waits for a missing commit before passing over it. A commit
   * goes missing when its writer died between claiming the position and inserting.
   */
  readonly gapTimeoutMs?: number;
}

const DUPLICATE_KEY = 11000;
const MAX_ROUNDS = 8;
const MAX_REMEMBERED_HEADS = 50_000;
const SLOT_READ_LIMIT = 2;
/** Commit numbers lost in a row before a claim looks for the highest taken (see claimCommits). */
const JUMP_AFTER_LOST = 2;

/**
 * Updates sent in one command. FerretDB 1.24 (SQLite) never answers an update
 * command of 100 statements or more (measured: 99 in 0.3 s, 100 no answer in
 * 5 s), and the outbox relay marks up to 500 events at a time; MongoDB takes 100,000.
 */
const MARK_BATCH = 50;

/**
 * The production event log on MongoDB, written so that it also runs on FerretDB.
 *
 * Why it looks the way it does: FerretDB implements neither multi-document
 * transactions, nor change streams, nor TTL indexes, and its updates and
 * findAndModify are not atomic, so none of them may carry correctness here.
 * The only concurrency tool is the one every MongoDB-compatible server gets
 * right: an insert either happens or fails on a unique index. So:
 * - one insert-only document per event; unique indexes on (streamId, version),
 *   on the event id (`_id`) and on the global position;
 * - an append is claimed by inserting its FIRST event's document, which also
 *   carries the append's other events. Once that one insert succeeds the whole
 *   append is durable; the other documents follow and, if a crash stops them,
 *   are rebuilt from the first one. Readers never see half an append;
 * - versions come from reading the stream's head and inserting at head + 1:
 *   whoever loses the race gets a duplicate key, which becomes the concurrency
 *   error (or an idempotent success when its event ids are the ones stored);
 * - global positions come the same way, one commit number per append, read as
 *   max + 1 and guarded by the unique index; commits lost by failed appends are
 *   filled with void markers so readers do not wait on them.
 * The only update is the outbox's "published" mark, an idempotent $unset whose
 * worst case, if it is lost, is one more publication (consumers deduplicate).
 */
export class MongoEventLog implements EventLog {
  private readonly events: Collection<EventDocument>;
  private readonly snapshots: Collection<SnapshotDocument>;
  private readonly facts: Collection<FactDocument>;
  private readonly commits: Collection<{ _id: number; at: string }>;
  /** Highest commit number known to be taken; every lower one is taken too. */
  private lastCommit: number | null = null;
  private readonly queue: GroupCommitQueue<AppendRequest, AppendResult>;
  private readonly metrics: EventLogMetrics;
  private readonly gapTimeoutMs: number;
  private readonly gapsSeen = new Map<number, number>();
  /** Last head seen per stream, a starting guess only (bounded, oldest dropped first). */
  private readonly heads = new Map<string, number>();
  private ownedClient: MongoClient | null = null;

  constructor(options: MongoEventLogOptions) {
    const prefix = options.collectionPrefix ?? '';
    this.events = options.db.collection<EventDocument>(`${prefix}events`);
    this.snapshots = options.db.collection<SnapshotDocument>(`${prefix}snapshots`);
    this.facts = options.db.collection<FactDocument>(`${prefix}stream_facts`);
    this.commits = options.db.collection<{ _id: number; at: string }>(`${prefix}commits`);
    this.metrics = new EventLogMetrics('mongo', options.registry);
    this.gapTimeoutMs = options.gapTimeoutMs ?? 5000;
    this.queue = new GroupCommitQueue((batch) => this.writeBatch(batch), options.maxBatchSize);
  }

  /** Connects, ensures the indexes, and closes the client with the log. */
  static async connect(url: string, database: string, options: Omit<MongoEventLogOptions, 'db'> = {}): Promise<MongoEventLog> {
    const client = await MongoClient.connect(url, { serverSelectionTimeoutMS: 10_000 });
    const log = new MongoEventLog({ ...options, db: client.db(database) });
    log.ownedClient = client;
    await log.ensureIndexes();
    return log;
  }

  async ensureIndexes(): Promise<void> {
    await this.events.createIndex({ eventId: 1 }, { unique: true, name: 'event_id' });
    await this.events.createIndex({ streamId: 1, version: 1 }, { unique: true, name: 'stream_version' });
    await this.events.createIndex({ position: 1 }, { unique: true, name: 'position' });
    await this.events.createIndex({ pending: 1, position: 1 }, { name: 'outbox' });
    await this.snapshots.createIndex({ streamId: 1, version: -1 }, { name: 'latest' });
    await this.facts.createIndex({ streamId: 1, key: 1, version: 1 }, { name: 'by_key' });
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const prepared = prepareAppend(streamId, events);
    return this.queue.submit({ streamId, events: prepared, expected });
  }

  async streamVersion(streamId: string): Promise<number> {
    return this.findHead(streamId, this.heads.get(streamId) ?? 0);
  }

  /**
   * The stream's head, found by looking documents up by `_id` from a guess (the
   * last head this instance saw) and galloping forward: a slot lookup is served
   * from the primary index on every MongoDB-compatible server, where a sort on
   * (streamId, version) is not (FerretDB's SQLite backend scans for it).
   */
  private async findHead(streamId: string, guess: number): Promise<number> {
    let head = guess;
    if (head > 0) {
      const doc = await this.events.findOne({ _id: slotId(streamId, head) }, { projection: { end: 1 } });
      if (!doc) return this.scanHead(streamId);
      head = doc.end;
    }
    for (;;) {
      const next = await this.events.findOne({ _id: slotId(streamId, head + 1) }, { projection: { end: 1 } });
      if (!next) break;
      head = next.end;
    }
    this.remember(streamId, head);
    return head;
  }

  /** The slow, always-right way: used when a guessed slot is empty (a wrong guess, or an append whose later documents a crash cut off). */
  private async scanHead(streamId: string): Promise<number> {
    const latest = await this.events.find({ streamId }).sort({ version: -1 }).limit(1).project<{ end: number }>({ end: 1 }).toArray();
    const head = latest[0]?.end ?? 0;
    this.remember(streamId, head);
    return head;
  }

  private remember(streamId: string, head: number): void {
    this.heads.delete(streamId);
    this.heads.set(streamId, head);
    if (this.heads.size > MAX_REMEMBERED_HEADS) this.heads.delete(this.heads.keys().next().value!);
  }

  async readStream(streamId: string, options: ReadStreamOptions = {}): Promise<readonly RecordedEvent[]> {
    const limit = options.limit ?? Number.MAX_SAFE_INTEGER;
    const head = await this.streamVersion(streamId);
    const backward = options.direction === 'backward';
    const hi = backward ? Math.min(options.from ?? head, head) : Math.min(head, (options.from ?? 1) + limit - 1);
    const lo = backward ? Math.max(1, hi - limit + 1) : Math.max(1, options.from ?? 1);
    if (head === 0 || hi < lo) return [];
    const docs = await this.findRange(streamId, lo, hi);
    const byVersion = new Map(docs.map((d) => [d.version, d]));
    if (byVersion.size < hi - lo + 1) {
      // Some later documents of an append are missing (their writer died after
      // the first insert): the first document has them all.
      const claims = await this.events.find({ streamId, offset: 0, version: { $lte: hi }, end: { $gte: lo } }).toArray();
      for (const doc of claims.flatMap(expandClaim)) if (doc.version >= lo && doc.version <= hi && !byVersion.has(doc.version)) byVersion.set(doc.version, doc);
    }
    const ordered = [...byVersion.values()].sort((a, b) => a.version - b.version).map(fromDocument);
    return backward ? ordered.reverse() : ordered;
  }

  /**
   * One or two versions are read slot by slot, by `_id`; a longer range with one
   * query on (streamId, version). Both are index reads on MongoDB. FerretDB 1.24
   * on PostgreSQL serves neither from an index (it pushes equality down as a
   * jsonb containment, which PostgreSQL answers by scanning the table): there a
   * query per slot costs a scan each, the range query one in all.
   */
  private async findRange(streamId: string, lo: number, hi: number): Promise<EventDocument[]> {
    if (hi - lo < SLOT_READ_LIMIT) {
      const docs = await Promise.all(Array.from({ length: hi - lo + 1 }, (_, i) => this.events.findOne({ _id: slotId(streamId, lo + i) })));
      return docs.filter((d): d is EventDocument => d !== null);
    }
    return this.events
      .find({ streamId, version: { $gte: lo, $lte: hi } })
      .sort({ version: 1 })
      .toArray();
  }

  async readAll(options: ReadAllOptions): Promise<ReadAllResult> {
    const limit = options.limit ?? 1000;
    checkTypes(options.types);
    // Types are filtered here, not in the query: the gaps between commits must still be seen to be waited for.
    const wanted = typeMatcher(options.types);
    const claims = await this.events
      .find({ position: { $gt: options.after }, offset: 0 })
      .sort({ position: 1 })
      .limit(limit)
      .toArray();
    const events: RecordedEvent[] = [];
    let checkpoint = options.after;
    let nextCommit = commitOf(options.after) + 1;
    for (const claim of claims) {
      const commit = commitOf(claim.position);
      if (commit > nextCommit && !this.gapsExpired(nextCommit, commit)) break;
      nextCommit = commit + 1;
      const whole = expandClaim(claim);
      checkpoint = whole.at(-1)!.position;
      if (claim.type !== VOID_TYPE) for (const doc of whole) if (wanted(doc.type)) events.push(fromDocument(doc));
      if (events.length >= limit) break;
    }
    return { events, checkpoint };
  }

  async lastPosition(): Promise<number> {
    const top = await this.events.find({}).sort({ position: -1 }).limit(1).project<{ position: number }>({ position: 1 }).toArray();
    return top[0]?.position ?? 0;
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    try {
      await this.snapshots.insertOne({
        _id: `${snapshot.streamId}@${snapshot.version}`,
        streamId: snapshot.streamId,
        version: snapshot.version,
        schemaVersion: snapshot.schemaVersion,
        state: JSON.stringify(snapshot.state),
        takenAt: snapshot.takenAt,
      });
    } catch (error) {
      if ((error as { code?: number }).code !== DUPLICATE_KEY) throw error;
    }
  }

  async saveFacts(streamId: string, version: number, facts: readonly StreamFact[]): Promise<void> {
    if (facts.length === 0) return;
    // Named by stream, key and version: saving again adds nothing.
    await this.insertIgnoringDuplicates(
      this.facts,
      facts.map((f): FactDocument => ({ _id: `${streamId}|${f.key}@${version}`, streamId, key: f.key, version, value: JSON.stringify(f.value) })),
    );
  }

  async loadFacts(streamId: string, keys: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>> {
    const found = new Map<string, unknown[]>();
    if (keys.length === 0) return found;
    const docs = await this.facts
      .find({ streamId, key: { $in: [...new Set(keys)] } })
      .sort({ key: 1, version: 1 })
      .toArray();
    for (const doc of docs) {
      const values = found.get(doc.key) ?? [];
      values.push(JSON.parse(doc.value));
      found.set(doc.key, values);
    }
    return found;
  }

  async loadSnapshot(streamId: string): Promise<Snapshot | null> {
    const doc = await this.snapshots.findOne({ streamId }, { sort: { version: -1 } });
    if (!doc) return null;
    return { streamId: doc.streamId, version: doc.version, schemaVersion: doc.schemaVersion, state: JSON.parse(doc.state), takenAt: doc.takenAt };
  }

  async readUnpublished(options: ReadUnpublishedOptions): Promise<readonly RecordedEvent[]> {
    const before = options.recordedBefore?.toISOString() ?? '9999-12-31T23:59:59.999Z';
    const docs = await this.events
      .find({ pending: true, recordedAt: { $lt: before }, ...(options.afterPosition ? { position: { $gt: options.afterPosition } } : {}) })
      .sort({ position: 1 })
      .limit(options.limit)
      .toArray();
    const result = new Map<string, EventDocument>();
    for (const doc of docs) {
      if (doc.rest && doc.rest.length > 0) {
        // A multi-event append whose writer may have died before inserting the
        // rest: insert what is missing now, so the mark can be set on each.
        const whole = expandClaim(doc);
        await this.insertIgnoringDuplicates(this.events, whole.slice(1));
        for (const d of whole) result.set(d.eventId, d);
      } else if (doc.type !== VOID_TYPE) {
        result.set(doc.eventId, doc);
      }
    }
    return [...result.values()].sort((a, b) => a.position - b.position).map(fromDocument);
  }

  async markPublished(events: readonly EventRef[]): Promise<void> {
    // One update per slot, by `_id`: the look-up every compatible server indexes;
    // MARK_BATCH of them per command.
    for (let i = 0; i < events.length; i += MARK_BATCH) {
      await this.events.bulkWrite(
        events
          .slice(i, i + MARK_BATCH)
          .map((e) => ({ updateOne: { filter: { _id: slotId(e.streamId, e.streamVersion) }, update: { $unset: { pending: '' } } } })),
        { ordered: false },
      );
    }
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.ownedClient?.close();
    this.ownedClient = null;
  }

  private gapsExpired(fromCommit: number, toCommit: number): boolean {
    const now = Date.now();
    let expired = true;
    for (let c = fromCommit; c < toCommit; c++) {
      const seen = this.gapsSeen.get(c) ?? now;
      this.gapsSeen.set(c, seen);
      if (now - seen < this.gapTimeoutMs) expired = false;
    }
    if (expired) for (let c = fromCommit; c < toCommit; c++) this.gapsSeen.delete(c);
    return expired;
  }

  private async writeBatch(batch: readonly AppendRequest[]): Promise<(AppendResult | Error)[]> {
    const started = process.hrtime.bigint();
    const results = new Map<AppendRequest, AppendResult | Error>();
    // A single-event append needs no look-up first: if its id is stored, it
    // collides on the event id index and the collision is explained then. The
    // later events of a multi-event append are inserted after the append is
    // already claimed, so their ids must be known to be free beforehand.
    let open: AppendRequest[] = [];
    const multi = batch.filter((r) => r.events.length > 1);
    const stored = await this.storedIdentities(multi.flatMap((r) => r.events.map((e) => e.id)));
    for (const request of batch) {
      const mine = request.events.length > 1 ? stored.filter((s) => request.events.some((e) => e.id === s.id)) : [];
      if (mine.length === 0) open.push(request);
      else results.set(request, await this.settleConflict(request, mine, null));
    }

    for (let round = 0; open.length > 0; round++) {
      if (round === MAX_ROUNDS) {
        for (const request of open)
          results.set(request, new WrongExpectedVersionError(request.streamId, request.expected, await this.streamVersion(request.streamId)));
        break;
      }
      open = await this.writeRound(open, results);
    }
    this.metrics.observeBatch(batch.length, Number(process.hrtime.bigint() - started) / 1e9);
    return batch.map((r) => results.get(r)!);
  }

  /** One attempt at the open appends; returns those to try again (lost a position race, or 'any' lost a version race). */
  private async writeRound(open: readonly AppendRequest[], results: Map<AppendRequest, AppendResult | Error>): Promise<AppendRequest[]> {
    const heads = await Promise.all(
      open.map((r) => {
        if (r.expected === 'no_stream') return 0;
        // An exact expectation is the best guess there is; galloping from it also confirms it.
        return this.findHead(r.streamId, typeof r.expected === 'number' ? r.expected : (this.heads.get(r.streamId) ?? 0));
      }),
    );
    const ready: { request: AppendRequest; head: number }[] = [];
    for (const [i, request] of open.entries()) {
      const head = heads[i]!;
      if (expectationHolds(request.expected, head)) ready.push({ request, head });
      else results.set(request, await this.explainMismatch(request, head));
    }
    if (ready.length === 0) return [];
    // Read after the heads: a later append to a stream always gets a later position.
    const commits = await this.claimCommits(ready.length);
    const recordedAt = new Date().toISOString();
    const candidates = ready.map(({ request, head }, i) => ({ request, docs: toDocuments(request.streamId, request.events, head, commits[i]!, recordedAt) }));

    const failed = await this.insertFirsts(candidates.map((c) => c.docs[0]!));
    const retry: AppendRequest[] = [];
    const lostCommits: number[] = [];
    for (const [i, { request, docs }] of candidates.entries()) {
      const error = failed.get(i);
      if (!error) {
        if (docs.length > 1) await this.insertIgnoringDuplicates(this.events, docs.slice(1));
        this.remember(request.streamId, docs.at(-1)!.version);
        results.set(request, { streamId: request.streamId, nextExpectedVersion: docs.at(-1)!.version, events: docs.map(fromDocument), alreadyStored: false });
        continue;
      }
      lostCommits.push(commitOf(docs[0]!.position));
      if (error !== DUPLICATE_KEY) {
        results.set(request, new Error(`append to ${request.streamId} failed: ${String(error)}`));
        continue;
      }
      const outcome = await this.explainDuplicate(request, docs[0]!);
      if (outcome === 'retry') retry.push(request);
      else results.set(request, outcome);
    }
    await this.insertIgnoringDuplicates(this.events, lostCommits.map(voidDocument));
    return retry;
  }

  /**
   * The stream is not where the append expected it. If the append is stored
   * already, right where it expected to go, this is a retry and a success;
   * otherwise a concurrency conflict. Slot look-ups only, no scan.
   */
  private async explainMismatch(request: AppendRequest, head: number): Promise<AppendResult | Error> {
    const expectedFirst = request.expected === 'no_stream' ? 1 : typeof request.expected === 'number' ? request.expected + 1 : null;
    if (expectedFirst !== null && (await this.slotsHold(request, expectedFirst))) return this.storedAppend(request, expectedFirst);
    return new WrongExpectedVersionError(request.streamId, request.expected, head);
  }

  private async explainDuplicate(request: AppendRequest, first: EventDocument): Promise<AppendResult | Error | 'retry'> {
    const taken = await this.events.findOne({ _id: first._id }, { projection: { eventId: 1 } });
    if (taken?.eventId === request.events[0]!.id && (await this.slotsHold(request, first.version))) return this.storedAppend(request, first.version);
    if (taken && typeof request.expected === 'number')
      return new WrongExpectedVersionError(request.streamId, request.expected, await this.streamVersion(request.streamId));
    if (taken && request.expected === 'no_stream')
      return new WrongExpectedVersionError(request.streamId, request.expected, await this.streamVersion(request.streamId));
    // Either someone took our slot or position first, or our event ids are stored
    // elsewhere (a retry of an 'any' append, or reused ids): only a search tells.
    const stored = await this.storedIdentities(request.events.map((e) => e.id));
    if (stored.length > 0) return this.settleConflict(request, stored, null);
    return 'retry';
  }

  private async slotsHold(request: AppendRequest, firstVersion: number): Promise<boolean> {
    const docs = await Promise.all(
      request.events.map((_, i) =>
        this.events.findOne({ _id: slotId(request.streamId, firstVersion + i) }, { projection: { eventId: 1, offset: 1, position: 1 } }),
      ),
    );
    const claim = docs[0];
    if (!claim || claim.eventId !== request.events[0]!.id) return false;
    // Later slots may be empty if a crash cut the append short; the claim then holds them.
    return request.events.every((e, i) => !docs[i] || docs[i]!.eventId === e.id);
  }

  private async storedAppend(request: AppendRequest, firstVersion: number): Promise<AppendResult> {
    const events = await this.readStream(request.streamId, { from: firstVersion, limit: request.events.length });
    return { streamId: request.streamId, nextExpectedVersion: firstVersion + events.length - 1, events, alreadyStored: true };
  }

  private async settleConflict(request: AppendRequest, stored: readonly StoredIdentity[], actual: number | null): Promise<AppendResult | Error> {
    const verdict = classifyConflict(request, stored);
    if (verdict instanceof Error) return verdict;
    if (verdict === 'conflict')
      return new WrongExpectedVersionError(request.streamId, request.expected, actual ?? (await this.streamVersion(request.streamId)));
    return this.storedAppend(request, Math.min(...stored.map((s) => s.streamVersion)));
  }

  private async storedIdentities(ids: readonly string[]): Promise<StoredIdentity[]> {
    if (ids.length === 0) return [];
    // One look-up by event id each: FerretDB answers `$in` by reading every event.
    const docs = await Promise.all(
      [...new Set(ids)].map((eventId) => this.events.findOne({ eventId }, { projection: { eventId: 1, streamId: 1, version: 1 } })),
    );
    return docs.flatMap((d) => (d ? [{ id: d.eventId, streamId: d.streamId, streamVersion: d.version }] : []));
  }

  /**
   * Claims commit numbers, lowest free first, by inserting `{ _id: n }` into the
   * commits collection: an insert-only allocator served by the primary index.
   * Every number below a claimed one is taken, so once a reader has seen commit
   * n, no append can later land below it; the one hole it may meet is a commit
   * claimed but not yet written (or never, if its writer died), and readAll
   * waits for that one before passing over it.
   */
  private async claimCommits(count: number): Promise<number[]> {
    this.lastCommit ??= await this.highestTakenFrom(0);
    const claimed: number[] = [];
    let lost = 0;
    while (claimed.length < count) {
      const wanted = Array.from({ length: count - claimed.length }, (_, i) => this.lastCommit! + 1 + i);
      const at = new Date().toISOString();
      try {
        await this.commits.insertMany(
          wanted.map((n) => ({ _id: n, at })),
          { ordered: true },
        );
        claimed.push(...wanted);
        this.lastCommit = wanted.at(-1)!;
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError)) throw error;
        const first = Array.isArray(error.writeErrors) ? error.writeErrors[0] : error.writeErrors;
        if (!first || first.code !== DUPLICATE_KEY) throw error;
        // Ours up to the failed one; that one is someone else's: go on after it. Lost twice
        // in a row, this writer is behind (it appends seldom, or the others are busy): it
        // looks for the highest number taken and goes on after that.
        claimed.push(...wanted.slice(0, first.index));
        this.lastCommit = ++lost >= JUMP_AFTER_LOST ? await this.highestTakenFrom(wanted[first.index]!) : wanted[first.index]!;
      }
    }
    return claimed;
  }

  /**
   * The highest commit number taken, at least `taken` (0: none known). Commit numbers
   * are taken as a prefix (1..n, nothing above a hole), so it is found by galloping
   * up from `taken` and halving back, with look-ups by `_id` only: a few index reads
   * whatever the collection's size (a count or a sort makes FerretDB read all of it).
   */
  private async highestTakenFrom(taken: number): Promise<number> {
    const isTaken = async (n: number) => (await this.commits.findOne({ _id: n }, { projection: { _id: 1 } })) !== null;
    let low = taken;
    let high = taken + 1;
    for (let step = 1; await isTaken(high); step *= 2) {
      low = high;
      high = taken + step * 2;
    }
    // `low` is taken (or `taken` itself), `high` is free: halve the range between them.
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (await isTaken(middle)) low = middle;
      else high = middle;
    }
    return low;
  }

  /** Inserts the appends' first documents; returns, by index, the error code of those that failed. */
  private async insertFirsts(docs: EventDocument[]): Promise<Map<number, number | string>> {
    const failed = new Map<number, number | string>();
    try {
      await this.events.insertMany(docs, { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      for (const w of writeErrors) failed.set(w.index, w.code ?? String(w.errmsg));
    }
    return failed;
  }

  /** Inserts what is not there yet: insert-only documents named by what they hold, so a duplicate is the same document. */
  private async insertIgnoringDuplicates<D extends { _id: string }>(collection: Collection<D>, docs: D[]): Promise<void> {
    if (docs.length === 0) return;
    try {
      await collection.insertMany(docs as OptionalUnlessRequiredId<D>[], { ordered: false });
    } catch (error) {
      if (!(error instanceof MongoBulkWriteError)) throw error;
      const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      const real = writeErrors.filter((w) => w.code !== DUPLICATE_KEY);
      if (real.length > 0) throw error;
    }
  }
}

export { COMMIT_STRIDE };
