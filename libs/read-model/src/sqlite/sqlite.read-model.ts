import Database from 'better-sqlite3';
import {
  decodePageToken,
  encodePageToken,
  requireName,
  type FindQuery,
  type FindResult,
  type ReadDocument,
  type ReadModelStore,
  type Scalar,
} from '../read-model.port';

const bind = (v: Scalar): string | number | null => (typeof v === 'boolean' ? (v ? 1 : 0) : v);

/** Read models in the embedded database: one table per model, the document as JSON. */
export class SqliteReadModelStore implements ReadModelStore {
  private readonly db: Database.Database;
  private readonly created = new Set<string>();
  /** Prepared once per SQL text: preparing took as long as running a point read. */
  private readonly statements = new Map<string, Database.Statement>();

  /** A file, or the connection the event log uses (see SqliteEventLogOptions.database). */
  constructor(filename: string | Database.Database) {
    this.db = typeof filename === 'string' ? new Database(filename) : filename;
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 5000');
  }

  async upsert(table: string, document: ReadDocument): Promise<void> {
    this.prepared(`INSERT INTO ${this.table(table)} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`).run(
      document.id,
      JSON.stringify(document),
    );
  }

  async upsertMany(table: string, documents: readonly ReadDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const statement = this.prepared(`INSERT INTO ${this.table(table)} (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc`);
    this.db.transaction(() => {
      for (const d of documents) statement.run(d.id, JSON.stringify(d));
    })();
  }

  async getMany<T extends ReadDocument>(table: string, ids: readonly string[]): Promise<readonly T[]> {
    const found = new Map<string, T>();
    // Bound parameters stay under SQLite's limit however many ids are asked for.
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const rows = this.prepared(`SELECT id, doc FROM ${this.table(table)} WHERE id IN (${chunk.map(() => '?').join(',')})`).all(...chunk) as {
        id: string;
        doc: string;
      }[];
      for (const r of rows) found.set(r.id, JSON.parse(r.doc) as T);
    }
    return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
  }

  async get<T extends ReadDocument>(table: string, id: string): Promise<T | null> {
    const row = this.prepared(`SELECT doc FROM ${this.table(table)} WHERE id = ?`).get(id) as { doc: string } | undefined;
    return row ? (JSON.parse(row.doc) as T) : null;
  }

  async find<T extends ReadDocument>(table: string, query: FindQuery): Promise<FindResult<T>> {
    const t = this.table(table);
    const clauses: string[] = [];
    const params: (string | number | null)[] = [];
    for (const [field, value] of Object.entries(query.where ?? {})) {
      const path = `json_extract(doc, '$.${requireName('field', field)}')`;
      if (Array.isArray(value)) {
        if (value.length === 0) continue;
        clauses.push(`${path} IN (${value.map(() => '?').join(',')})`);
        params.push(...value.map(bind));
      } else if (value === null) {
        clauses.push(`${path} IS NULL`);
      } else {
        clauses.push(`${path} = ?`);
        params.push(bind(value as Scalar));
      }
    }
    const order = `json_extract(doc, '$.${requireName('field', query.orderBy.field)}')`;
    if (query.pageToken) {
      const cursor = decodePageToken(query.pageToken);
      const cmp = query.orderBy.direction === 'desc' ? '<' : '>';
      clauses.push(`(${order} ${cmp} ? OR (${order} = ? AND id > ?))`);
      params.push(bind(cursor.v), bind(cursor.v), cursor.id);
    }
    const sql = `SELECT doc FROM ${t} ${clauses.length ? `WHERE ${clauses.join(' AND ')}` : ''} ORDER BY ${order} ${query.orderBy.direction === 'desc' ? 'DESC' : 'ASC'}, id ASC LIMIT CAST(? AS INTEGER)`;
    const rows = this.db.prepare<(string | number | null)[], { doc: string }>(sql).all(...params, query.limit + 1);
    const documents = rows.slice(0, query.limit).map((r) => JSON.parse(r.doc) as T);
    return { documents, nextPageToken: rows.length > query.limit ? encodePageToken(documents.at(-1)!, query.orderBy.field) : '' };
  }

  async delete(table: string, id: string): Promise<void> {
    this.db.prepare(`DELETE FROM ${this.table(table)} WHERE id = ?`).run(id);
  }

  async drop(table: string): Promise<void> {
    this.db.exec(`DROP TABLE IF EXISTS rm_${requireName('table', table)}`);
    this.created.delete(table);
    this.statements.clear();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  private prepared(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      // Bounded: IN lists of up to 500 ids come in every length.
      if (this.statements.size > 2000) this.statements.clear();
      this.statements.set(sql, (statement = this.db.prepare(sql)));
    }
    return statement;
  }

  private table(table: string): string {
    const name = `rm_${requireName('table', table)}`;
    if (!this.created.has(table)) {
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)`);
      this.created.add(table);
    }
    return name;
  }
}
