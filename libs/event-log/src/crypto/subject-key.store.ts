import { GroupCommitQueue } from '../group-commit/group-commit.queue';
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { pooledRandomBytes } from './random.pool';
import Database from 'better-sqlite3';
import type { Collection, Db } from 'mongodb';

/**
 * One data key per subject (a customer). Deleting it is the erasure: every
 * personal field encrypted with it, in the log and in snapshots, becomes
 * unreadable at once, wherever copies went, while the events themselves (and
 * with them counts and timings) stay.
 */
export interface SubjectKeyStore {
  /** The subject's key, created on first use. Concurrent first uses agree on one key. */
  keyFor(subjectId: string): Promise<Buffer>;
  /** The key, or null once erased (or never created). */
  find(subjectId: string): Promise<Buffer | null>;
  erase(subjectId: string): Promise<void>;
}

/** Data keys are stored wrapped (AES-256-GCM) with a master key kept outside the database. */
export class KeyWrapper {
  constructor(private readonly masterKey: Buffer) {
    if (masterKey.length !== 32) throw new Error('the master key must be 32 bytes');
  }
  wrap(key: Buffer): string {
    const iv = pooledRandomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.masterKey, iv);
    const body = Buffer.concat([cipher.update(key), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }
  unwrap(wrapped: string): Buffer {
    const raw = Buffer.from(wrapped, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.masterKey, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }
}

/** Keys in MongoDB: insert-only by `_id`, so two first uses race on the unique key and both read the winner. */
export class MongoSubjectKeyStore implements SubjectKeyStore {
  private readonly keys: Collection<{ _id: string; key: string }>;
  constructor(
    db: Db,
    private readonly wrapper: KeyWrapper,
    collection = 'subject_keys',
  ) {
    this.keys = db.collection(collection);
  }
  async keyFor(subjectId: string): Promise<Buffer> {
    const existing = await this.find(subjectId);
    if (existing) return existing;
    const created = pooledRandomBytes(32);
    try {
      await this.keys.insertOne({ _id: subjectId, key: this.wrapper.wrap(created) });
      return created;
    } catch (error) {
      if ((error as { code?: number }).code !== 11000) throw error;
    }
    // Another writer created it first: theirs is the key.
    const key = await this.find(subjectId);
    if (!key) throw new Error('the subject was erased while its key was being created');
    return key;
  }
  async find(subjectId: string): Promise<Buffer | null> {
    const doc = await this.keys.findOne({ _id: subjectId });
    return doc ? this.wrapper.unwrap(doc.key) : null;
  }
  async erase(subjectId: string): Promise<void> {
    await this.keys.deleteOne({ _id: subjectId });
  }
}

/** Keys in the embedded database file, on a connection of their own. */
export class SqliteSubjectKeyStore implements SubjectKeyStore {
  private readonly db: Database.Database;
  private readonly createKeys: (subjects: readonly { readonly streamId: string }[]) => (Buffer | null)[];
  private readonly selectKey: Database.Statement<[string], { key: string }>;
  constructor(
    /** A file, or the connection the event log uses (see SqliteEventLogOptions.database). */
    filename: string | Database.Database,
    private readonly wrapper: KeyWrapper,
  ) {
    this.db = typeof filename === 'string' ? new Database(filename) : filename;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
    // Deleted rows are overwritten with zeros, not left in free pages.
    this.db.pragma('secure_delete = ON');
    this.db.exec('CREATE TABLE IF NOT EXISTS subject_keys (subject_id TEXT PRIMARY KEY, key TEXT NOT NULL)');
    // Prepared once: a statement and a transaction function cost more to make than to run.
    const insert = this.db.prepare<[string, string]>('INSERT OR IGNORE INTO subject_keys (subject_id, key) VALUES (?, ?)');
    this.createKeys = this.db.transaction((subjects: readonly { readonly streamId: string }[]) =>
      subjects.map(({ streamId }) => {
        const key = pooledRandomBytes(32);
        return insert.run(streamId, this.wrapper.wrap(key)).changes === 1 ? key : null;
      }),
    );
    this.selectKey = this.db.prepare<[string], { key: string }>('SELECT key FROM subject_keys WHERE subject_id = ?');
  }
  close(): void {
    if (this.db.open) this.db.close();
  }
  async keyFor(subjectId: string): Promise<Buffer> {
    // Reading first: a write transaction (and its fsync) only for a new subject,
    // and new subjects arriving together share one.
    const existing = await this.find(subjectId);
    if (existing) return existing;
    // The key this store just created needs no reading back; one created first by another writer does.
    return (await this.creating.submit({ streamId: subjectId })) ?? (await this.find(subjectId))!;
  }

  private readonly creating = new GroupCommitQueue<{ readonly streamId: string }, Buffer | null>(async (batch) => this.createKeys(batch));

  async find(subjectId: string): Promise<Buffer | null> {
    const row = this.selectKey.get(subjectId);
    return row ? this.wrapper.unwrap(row.key) : null;
  }
  async erase(subjectId: string): Promise<void> {
    this.db.prepare('DELETE FROM subject_keys WHERE subject_id = ?').run(subjectId);
    // Overwrite freed pages too, so the key is not left in the file.
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
