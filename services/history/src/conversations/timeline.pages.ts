import { InvalidArgumentError } from '@parley/errors';

/**
 * Where a page of a conversation's timeline starts or ends: entries are only ever
 * appended (edits and deletions change an entry in place), so an index into them
 * names the same place later; `at` keeps a page of the past in the past.
 */
interface TimelineCursor {
  /** Conversation id: a token is good for its own conversation only. */
  readonly c: string;
  /** The boundary: entries before it (backwards) or from it on (forwards). */
  readonly i: number;
  readonly d: 'back' | 'forward';
  /** As of this moment (GetConversationAt), or now when absent. */
  readonly at?: string;
}

export interface TimelinePage<T> {
  readonly entries: readonly T[];
  readonly previousPageToken: string;
  readonly nextPageToken: string;
}

function encode(cursor: TimelineCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeTimelineToken(token: string, conversationId: string): TimelineCursor {
  const refuse = () => new InvalidArgumentError('invalid page token', [{ field: 'page_token', description: "a previous_page_token or next_page_token of this conversation's timeline" }]);
  let cursor: TimelineCursor;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TimelineCursor;
  } catch {
    throw refuse();
  }
  if (cursor.c !== conversationId || !Number.isInteger(cursor.i) || cursor.i < 0 || (cursor.d !== 'back' && cursor.d !== 'forward') || (cursor.at !== undefined && Number.isNaN(Date.parse(cursor.at)))) throw refuse();
  return cursor;
}

/** The latest page of a timeline, with the token to page back from it. */
export function latestPage<T>(entries: readonly T[], size: number, conversationId: string, at?: string): TimelinePage<T> {
  return pageOf(entries, Math.max(0, entries.length - size), entries.length, conversationId, at);
}

/** The page a cursor points at. */
export function pageAt<T>(entries: readonly T[], cursor: TimelineCursor, size: number): TimelinePage<T> {
  const boundary = Math.min(cursor.i, entries.length);
  return cursor.d === 'back'
    ? pageOf(entries, Math.max(0, boundary - size), boundary, cursor.c, cursor.at)
    : pageOf(entries, boundary, Math.min(entries.length, boundary + size), cursor.c, cursor.at);
}

function pageOf<T>(entries: readonly T[], start: number, end: number, conversationId: string, at?: string): TimelinePage<T> {
  const when = at === undefined ? {} : { at };
  return {
    entries: entries.slice(start, end),
    previousPageToken: start > 0 ? encode({ c: conversationId, i: start, d: 'back', ...when }) : '',
    nextPageToken: end < entries.length ? encode({ c: conversationId, i: end, d: 'forward', ...when }) : '',
  };
}
