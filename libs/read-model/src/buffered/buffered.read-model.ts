import type { FindQuery, FindResult, ReadDocument, ReadModelStore } from '../read-model.port';

/**
 * A store that keeps writes in memory until `flush`, and answers reads from them
 * first. A projection that writes several rows per event writes a page of events
 * in one batch this way; a reader can also apply the few events a read model is
 * behind to such a store and never flush it.
 */
export class BufferedReadModelStore implements ReadModelStore {
  private readonly pending = new Map<string, Map<string, ReadDocument>>();

  constructor(private readonly inner: ReadModelStore) {}

  /** How many documents wait to be written. */
  get size(): number {
    let n = 0;
    for (const docs of this.pending.values()) n += docs.size;
    return n;
  }

  async upsert(table: string, document: ReadDocument): Promise<void> {
    this.tableOf(table).set(document.id, document);
  }

  async upsertMany(table: string, documents: readonly ReadDocument[]): Promise<void> {
    const docs = this.tableOf(table);
    for (const d of documents) docs.set(d.id, d);
  }

  async get<T extends ReadDocument>(table: string, id: string): Promise<T | null> {
    const own = this.pending.get(table)?.get(id);
    return own ? (own as T) : this.inner.get<T>(table, id);
  }

  async getMany<T extends ReadDocument>(table: string, ids: readonly string[]): Promise<readonly T[]> {
    const own = this.pending.get(table);
    const missing = own ? ids.filter((id) => !own.has(id)) : ids;
    const stored = new Map((missing.length ? await this.inner.getMany<T>(table, missing) : []).map((d) => [d.id, d]));
    return ids.flatMap((id) => {
      const d = (own?.get(id) as T | undefined) ?? stored.get(id);
      return d ? [d] : [];
    });
  }

  /** Finds go to the store: buffered rows are not searched (flush first). */
  find<T extends ReadDocument>(table: string, query: FindQuery): Promise<FindResult<T>> {
    return this.inner.find<T>(table, query);
  }

  async delete(table: string, id: string): Promise<void> {
    this.pending.get(table)?.delete(id);
    await this.inner.delete(table, id);
  }

  drop(table: string): Promise<void> {
    this.pending.delete(table);
    return this.inner.drop(table);
  }

  /** Writes what is buffered, a batch per table, and forgets it. */
  async flush(): Promise<void> {
    for (const [table, docs] of this.pending) {
      await this.inner.upsertMany(table, [...docs.values()]);
      this.pending.delete(table);
    }
  }

  /** Forgets what is buffered without writing it. */
  discard(): void {
    this.pending.clear();
  }

  async close(): Promise<void> {
    this.pending.clear();
  }

  private tableOf(table: string): Map<string, ReadDocument> {
    let docs = this.pending.get(table);
    if (!docs) this.pending.set(table, (docs = new Map()));
    return docs;
  }
}
