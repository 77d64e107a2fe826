import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import type { NewEvent, RecordedEvent } from '../event-envelope';
import type {
  AppendResult,
  EventLog,
  EventRef,
  ExpectedVersion,
  ReadAllOptions,
  ReadAllResult,
  ReadStreamOptions,
  ReadUnpublishedOptions,
  Snapshot,
  StreamFact,
} from '../event-log.port';
import { mapPaths } from './personal-paths';
import { pooledRandomBytes } from './random.pool';
import type { SubjectKeyStore } from './subject-key.store';

/** The metadata field that names whose personal data an event carries (a customer id). */
export const SUBJECT_METADATA = 'subjectId';
const PREFIX = 'enc:v1:';

/** What a reader gets in place of a personal field whose subject was erased. */
export const ERASED = Object.freeze({ erased: true as const });

export function isErased(value: unknown): value is typeof ERASED {
  return typeof value === 'object' && value !== null && (value as { erased?: unknown }).erased === true && Object.keys(value).length === 1;
}

/**
 * Crypto-shredding over any EventLog. The personal fields of an event (as its
 * contract lists them) are encrypted with its subject's key before they reach
 * the store, and so are whole snapshots that name a subject. Erasing the subject
 * deletes the key: the stored bytes stay, but nothing personal can be read from
 * them any more, in the log, in snapshots, or in copies on the bus.
 */
export class EncryptingEventLog implements EventLog {
  /**
   * Keys read in the last second, by subject: most appends and reads of a busy
   * conversation need the same key again at once. An erasure here drops it at
   * once; an erasure by another process is seen within a second.
   */
  private readonly recent = new Map<string, { key: Buffer | null; at: number }>();

  constructor(
    private readonly inner: EventLog,
    private readonly keys: SubjectKeyStore,
    /** Dot paths of the personal fields of an event type (from @parley/contracts). */
    private readonly personalFieldsOf: (type: string) => readonly string[],
    private readonly keyCacheMs = 1000,
  ) {}

  private async findKey(subjectId: string): Promise<Buffer | null> {
    const hit = this.cached(subjectId);
    return hit ? hit.key : this.remember(subjectId, await this.keys.find(subjectId));
  }

  private async keyFor(subjectId: string): Promise<Buffer> {
    // Every store reads before it creates: reading here first read twice (a new customer's every append).
    return this.cached(subjectId)?.key ?? this.remember(subjectId, await this.keys.keyFor(subjectId));
  }

  private cached(subjectId: string): { key: Buffer | null } | undefined {
    const hit = this.recent.get(subjectId);
    return hit && Date.now() - hit.at < this.keyCacheMs ? hit : undefined;
  }

  private remember<K extends Buffer | null>(subjectId: string, key: K): K {
    if (this.recent.size > 10_000) this.recent.clear();
    this.recent.set(subjectId, { key, at: Date.now() });
    return key;
  }

  async append(streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    const sealed = await Promise.all(events.map((e) => this.sealEvent(e)));
    const result = await this.inner.append(streamId, sealed, expected);
    // Freshly written: the writer's own plain data, instead of decrypting what was
    // just encrypted. A retry that found its events stored reads them back as stored.
    if (!result.alreadyStored && result.events.length === events.length)
      return { ...result, events: result.events.map((e, i) => (sealed[i] === events[i] ? e : { ...e, data: events[i]!.data })) };
    return { ...result, events: await Promise.all(result.events.map((e) => this.openEvent(e))) };
  }

  async readStream(streamId: string, options?: ReadStreamOptions): Promise<readonly RecordedEvent[]> {
    return Promise.all((await this.inner.readStream(streamId, options)).map((e) => this.openEvent(e)));
  }

  streamVersion(streamId: string): Promise<number> {
    return this.inner.streamVersion(streamId);
  }

  async readAll(options: ReadAllOptions): Promise<ReadAllResult> {
    const page = await this.inner.readAll(options);
    return { ...page, events: await Promise.all(page.events.map((e) => this.openEvent(e))) };
  }

  lastPosition(): Promise<number> {
    return this.inner.lastPosition();
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    if (!snapshot.subjectId) return this.inner.saveSnapshot(snapshot);
    const key = await this.keyFor(snapshot.subjectId);
    const { subjectId, ...rest } = snapshot;
    return this.inner.saveSnapshot({ ...rest, state: { [SUBJECT_METADATA]: subjectId, sealed: seal(key, snapshot.state) } });
  }

  /** Facts hold no personal data (see EventLog.saveFacts): stored as they are. */
  saveFacts(streamId: string, version: number, facts: readonly StreamFact[]): Promise<void> {
    return this.inner.saveFacts(streamId, version, facts);
  }

  loadFacts(streamId: string, keys: readonly string[]): Promise<ReadonlyMap<string, readonly unknown[]>> {
    return this.inner.loadFacts(streamId, keys);
  }

  /** A sealed snapshot whose subject was erased is as good as none: the state is rebuilt from the (redacted) events. */
  async loadSnapshot(streamId: string): Promise<Snapshot | null> {
    const snapshot = await this.inner.loadSnapshot(streamId);
    const state = snapshot?.state as { subjectId?: string; sealed?: string } | undefined;
    if (!snapshot || !state?.sealed || !state.subjectId) return snapshot;
    const key = await this.findKey(state.subjectId);
    if (!key) return null;
    return { ...snapshot, state: open(key, state.sealed) };
  }

  async readUnpublished(options: ReadUnpublishedOptions): Promise<readonly RecordedEvent[]> {
    // Published as stored: personal fields travel on the bus still encrypted.
    return this.inner.readUnpublished(options);
  }

  markPublished(events: readonly EventRef[]): Promise<void> {
    return this.inner.markPublished(events);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Deletes the subject's key: its personal data becomes unreadable everywhere. */
  async erase(subjectId: string): Promise<void> {
    this.recent.delete(subjectId);
    await this.keys.erase(subjectId);
    this.recent.delete(subjectId);
  }

  /**
   * Seals any value with the subject's key, for read models that keep personal
   * data (a conversation's timeline): erasing the subject shreds them too.
   */
  async sealFor(subjectId: string, value: unknown): Promise<string> {
    return seal(await this.keyFor(subjectId), value);
  }

  /** Whether the subject still has a key (was not erased): what a cache of opened data asks before serving from it. */
  async hasKey(subjectId: string): Promise<boolean> {
    return (await this.findKey(subjectId)) !== null;
  }

  /** Opens what sealFor sealed; null once the subject was erased (or given a new key since). */
  async openFor(subjectId: string, sealed: string): Promise<unknown> {
    const key = await this.findKey(subjectId);
    if (!key) return null;
    try {
      return open(key, sealed);
    } catch {
      return null;
    }
  }

  /** Opens an event read elsewhere (from the bus, say): the same redaction rules apply. */
  async openEvent(event: RecordedEvent): Promise<RecordedEvent> {
    const subject = event.metadata[SUBJECT_METADATA];
    const paths = this.personalFieldsOf(event.type);
    if (typeof subject !== 'string' || paths.length === 0) return event;
    const key = await this.findKey(subject);
    return { ...event, data: mapPaths(event.data, paths, (v) => (typeof v === 'string' && v.startsWith(PREFIX) ? (key ? open(key, v) : ERASED) : v)) };
  }

  private async sealEvent(event: NewEvent): Promise<NewEvent> {
    const subject = event.metadata?.[SUBJECT_METADATA];
    const paths = this.personalFieldsOf(event.type);
    if (typeof subject !== 'string' || paths.length === 0) return event;
    const key = await this.keyFor(subject);
    return { ...event, data: mapPaths(event.data, paths, (v) => seal(key, v)) };
  }
}

function seal(key: Buffer, value: unknown): string {
  const iv = pooledRandomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function open(key: Buffer, sealed: string): unknown {
  const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8'));
}

/** A key for one purpose (claim stream names, the search index), derived from the master key so deployments configure one secret. */
export function deriveKey(master: Buffer, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), `parley:${purpose}`, 32));
}
