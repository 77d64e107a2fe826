import { InvalidArgumentError } from '@parley/errors';

export type Scalar = string | number | boolean | null;
export type ReadDocument = Readonly<Record<string, unknown>> & { readonly id: string };

export interface FindQuery {
  /** Equality on a field, or membership when given a list. */
  readonly where?: Readonly<Record<string, Scalar | readonly Scalar[]>>;
  /** Sorted by this field, then by id, for stable pages. */
  readonly orderBy: { readonly field: string; readonly direction: 'asc' | 'desc' };
  readonly limit: number;
  /** The page token of the previous page. */
  readonly pageToken?: string;
}

export interface FindResult<T extends ReadDocument> {
  readonly documents: readonly T[];
  /** Empty on the last page. */
  readonly nextPageToken: string;
}

/**
 * Where read models live. They are derived data: a projection writes them from
 * the log and can always write them again from scratch. One projection writes
 * each table, so plain upserts are safe even on stores whose updates are not
 * atomic (FerretDB).
 */
export interface ReadModelStore {
  upsert(table: string, document: ReadDocument): Promise<void>;
  get<T extends ReadDocument>(table: string, id: string): Promise<T | null>;
  /** Several documents by id in one round trip, in the order asked; ids without a document are left out. */
  getMany<T extends ReadDocument>(table: string, ids: readonly string[]): Promise<readonly T[]>;
  /** Several upserts in one write (one transaction on SQLite, one bulk write on MongoDB): what a projection buffered over a page of events. */
  upsertMany(table: string, documents: readonly ReadDocument[]): Promise<void>;
  find<T extends ReadDocument>(table: string, query: FindQuery): Promise<FindResult<T>>;
  /** Removes one document; removing one that is not there is not an error (redelivery). */
  delete(table: string, id: string): Promise<void>;
  /** Removes a table (a rebuild writes beside the live one, then the old one goes). */
  drop(table: string): Promise<void>;
  close(): Promise<void>;
}

interface Cursor {
  readonly v: Scalar;
  readonly id: string;
}

export function encodePageToken(document: ReadDocument, field: string): string {
  return Buffer.from(JSON.stringify({ v: (document[field] ?? null) as Scalar, id: document.id } satisfies Cursor)).toString('base64url');
}

export function decodePageToken(token: string): Cursor {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Cursor;
    if (typeof parsed.id !== 'string') throw new Error('no id');
    return parsed;
  } catch {
    throw new InvalidArgumentError('invalid page token', [{ field: 'page_token', description: 'use the next_page_token of the previous page' }]);
  }
}

const NAMES = { table: /^[a-z][a-z0-9_]{0,62}$/, field: /^[A-Za-z][A-Za-z0-9_]{0,62}$/ };
/** Table and field names go into queries: only plain names are allowed. */
export function requireName(kind: 'table' | 'field', name: string): string {
  if (!NAMES[kind].test(name)) throw new Error(`invalid ${kind} name: ${name}`);
  return name;
}
