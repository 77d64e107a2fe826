import type { Db, Document, Filter } from 'mongodb';

type Row = Document & { _id: string };
import { decodePageToken, encodePageToken, requireName, type FindQuery, type FindResult, type ReadDocument, type ReadModelStore } from '../read-model.port';

/**
 * Read models in MongoDB, one collection per model. A whole-document replace by
 * `_id` from the single projection that owns the collection needs no atomic
 * update, so it is as safe on FerretDB as on MongoDB.
 */
export class MongoReadModelStore implements ReadModelStore {
  constructor(private readonly db: Db) {}

  async upsert(table: string, document: ReadDocument): Promise<void> {
    const { id, ...rest } = document;
    await this.collection(table).replaceOne({ _id: id }, rest, { upsert: true });
  }

  async upsertMany(table: string, documents: readonly ReadDocument[]): Promise<void> {
    if (documents.length === 0) return;
    await this.collection(table).bulkWrite(
      documents.map(({ id, ...rest }) => ({ replaceOne: { filter: { _id: id }, replacement: rest, upsert: true } })),
      { ordered: true },
    );
  }

  async getMany<T extends ReadDocument>(table: string, ids: readonly string[]): Promise<readonly T[]> {
    if (ids.length === 0) return [];
    // One look-up by _id each: FerretDB answers `$in` by reading the whole collection.
    const docs = await Promise.all([...new Set(ids)].map((id) => this.collection(table).findOne({ _id: id })));
    const found = new Map(docs.flatMap((d) => (d ? [[d._id, this.toDocument<T>(d)] as const] : [])));
    return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
  }

  async get<T extends ReadDocument>(table: string, id: string): Promise<T | null> {
    const doc = await this.collection(table).findOne({ _id: id });
    return doc ? this.toDocument<T>(doc) : null;
  }

  async find<T extends ReadDocument>(table: string, query: FindQuery): Promise<FindResult<T>> {
    // Equalities at the top level of the filter, where FerretDB hands them to PostgreSQL
    // (and its indexes); what it cannot (`$in`, ranges, `$or`) it applies to what those return.
    const filter: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(query.where ?? {})) {
      requireName('field', field);
      if (!Array.isArray(value)) filter[field] = value;
      else if (value.length === 1) filter[field] = value[0];
      else if (value.length > 1) filter[field] = { $in: value };
    }
    const field = requireName('field', query.orderBy.field);
    const dir = query.orderBy.direction === 'desc' ? -1 : 1;
    if (query.pageToken) {
      const cursor = decodePageToken(query.pageToken);
      filter['$or'] = [{ [field]: { [dir === -1 ? '$lt' : '$gt']: cursor.v } }, { [field]: cursor.v, _id: { $gt: cursor.id } }];
    }
    const docs = await this.collection(table)
      .find(filter as Filter<Row>)
      .sort({ [field]: dir, _id: 1 })
      .limit(query.limit + 1)
      .toArray();
    const documents = docs.slice(0, query.limit).map((d) => this.toDocument<T>(d));
    return { documents, nextPageToken: docs.length > query.limit ? encodePageToken(documents.at(-1)!, field) : '' };
  }

  async delete(table: string, id: string): Promise<void> {
    await this.collection(table).deleteOne({ _id: id });
  }

  async drop(table: string): Promise<void> {
    await this.collection(table)
      .drop()
      .catch((error: { codeName?: string; code?: number }) => {
        if (error.code !== 26 && error.codeName !== 'NamespaceNotFound') throw error;
      });
  }

  async close(): Promise<void> {
    // The Db belongs to whoever connected it.
  }

  private collection(table: string) {
    return this.db.collection<Row>(`rm_${requireName('table', table)}`);
  }

  private toDocument<T extends ReadDocument>(doc: Document): T {
    const { _id, ...rest } = doc;
    return { id: _id as string, ...rest } as unknown as T;
  }
}
