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
  const refuse = () =>
    new InvalidArgumentError('invalid page token', [
      { field: 'page_token', description: "a previous_page_token or next_page_token of this conversation's timeline" },
    ]);
  let cursor: TimelineCursor;
  try {
    cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as TimelineCursor;
  } catch {
    throw refuse();
  }
  if (
    cursor.c !== conversationId ||
    !Number.isInteger(cursor.i) ||
    cursor.i < 0 ||
    (cursor.d !== 'back' && cursor.d !== 'forward') ||
    (cursor.at !== undefined && Number.isNaN(Date.parse(cursor.at)))
  )
    throw refuse();
  return cursor;
}

/** Which entries a page holds, [start, end), and the tokens around it. */
export interface PageBounds {
  readonly start: number;
  readonly end: number;
  readonly previousPageToken: string;
  readonly nextPageToken: string;
}

/** The latest page of a timeline of `total` entries, with the token to page back from it. */
export function latestBounds(total: number, size: number, conversationId: string, at?: string): PageBounds {
  return bounds(Math.max(0, total - size), total, total, conversationId, at);
}

/** The page a cursor points at, in a timeline of `total` entries. */
export function boundsAt(total: number, cursor: TimelineCursor, size: number): PageBounds {
  const boundary = Math.min(cursor.i, total);
  return cursor.d === 'back'
    ? bounds(Math.max(0, boundary - size), boundary, total, cursor.c, cursor.at)
    : bounds(boundary, Math.min(total, boundary + size), total, cursor.c, cursor.at);
}

function bounds(start: number, end: number, total: number, conversationId: string, at?: string): PageBounds {
  const when = at === undefined ? {} : { at };
  return {
    start,
    end,
    previousPageToken: start > 0 ? encode({ c: conversationId, i: start, d: 'back', ...when }) : '',
    nextPageToken: end < total ? encode({ c: conversationId, i: end, d: 'forward', ...when }) : '',
  };
}

/** A page of a timeline held whole in memory (a replay of the past). */
export function pageOf<T>(entries: readonly T[], b: PageBounds): TimelinePage<T> {
  return { entries: entries.slice(b.start, b.end), previousPageToken: b.previousPageToken, nextPageToken: b.nextPageToken };
}
