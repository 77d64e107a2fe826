import { InvalidArgumentError, ParleyError } from '@parley/errors';
import { requireId } from '../grpc/request.validation';
import { streams, type Attachment, type Author, type Channel, type ConversationEvent } from '@parley/contracts';
import {
  TimelineBuilder,
  type ConversationCommand,
  type ConversationState,
  type ConversationView,
  type TimelineEntry,
  type TimingRules,
} from '@parley/conversation';
import { timeOrderedId, type DeciderStore, type EncryptingEventLog } from '@parley/event-log';
import { PermissionDeniedError, parleyService, type Caller, type GrpcEdge, type GrpcHandlers, type Role } from '@parley/grpc-edge';
import type { FindQuery, ProjectionRunner, ReadModelStore } from '@parley/read-model';
import { CONVERSATIONS_TABLE, type ConversationRow } from '../projections/conversation-list.projection';
import { SEARCH_TABLE, termOf, words, type SearchTermRow } from '../projections/conversation-search.projection';
import { toVersioned } from '../projections/conversation-timeline.projection';
import {
  TIMELINE_ENTRIES_TABLE,
  TIMELINE_HEADERS_TABLE,
  TIMELINE_MESSAGES_TABLE,
  TimelineWork,
  type TimelineHeader,
} from '../projections/timeline/timeline.rows';
import { channelFromProto, channelToProto, conversationToProto, fromTimestamp, timestamp } from './conversation.mapper';
import { boundsAt, decodeTimelineToken, latestBounds, pageOf, type PageBounds } from './timeline.pages';
import { surveyText } from './survey.texts';

const STATUS_TO_PROTO = {
  open: 'CONVERSATION_STATUS_OPEN',
  pending: 'CONVERSATION_STATUS_PENDING',
  snoozed: 'CONVERSATION_STATUS_SNOOZED',
  resolved: 'CONVERSATION_STATUS_RESOLVED',
} as const;
const STATUS_FROM_PROTO: Record<string, ConversationRow['status']> = Object.fromEntries(
  Object.entries(STATUS_TO_PROTO).map(([k, v]) => [v, k as ConversationRow['status']]),
);

export class ConversationNotFoundError extends ParleyError {
  readonly code = 'CONVERSATION_NOT_FOUND';
  readonly category = 'not_found' as const;
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} not found`);
  }
  override details() {
    return { conversationId: this.conversationId };
  }
}

const READERS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];
const WRITERS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];

/**
 * A conversation's stream is named by tenant and id, so a caller can only ever
 * reach its own tenant's conversations: another tenant's id leads to an empty
 * stream, and so to NOT_FOUND, exactly as an id that does not exist.
 */
export const conversationStream = streams.conversation;

/** The read models the queries are served from. */
export interface ConversationReadModels {
  readonly store: ReadModelStore;
  readonly list: ProjectionRunner;
  readonly timeline: ProjectionRunner;
  readonly search: ProjectionRunner;
  readonly searchKey: Buffer;
  readonly rules: TimingRules;
  /** The customer's language (their profile's locale), for what Parley writes to them: the survey. */
  readonly customerLocale?: (tenantId: string, customerId: string) => Promise<string | undefined>;
}

export function rowToProto(r: ConversationRow) {
  return {
    id: r.conversationId,
    customer_id: r.customerId,
    status: STATUS_TO_PROTO[r.status],
    agent_id: r.agentId,
    queue_id: r.queueId,
    priority: r.priority,
    version: r.version,
    last_activity_at: timestamp(r.lastActivityAt),
    unread_count: r.unreadCount ?? 0,
    waiting_since: timestamp(r.queuedAt || null),
    satisfaction: r.satisfaction ?? 0,
  };
}

function pageSize(value: number, fallback: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new InvalidArgumentError('invalid request', [{ field: 'page_size', description: `from 1 to ${max} (0 means ${fallback})` }]);
  return value || fallback;
}

interface ProtoAttachment {
  ref: string;
  mime_type: string;
  size_bytes: number;
  name: string;
}

/** A view of the header with a page of its entries, for the proto mapping. */
function headerView(header: TimelineHeader, entries: readonly TimelineEntry[]): ConversationView {
  return { state: header.state, timeline: entries, version: header.version, lastActivityAt: header.lastActivityAt, timings: header.timings };
}

/** Views of the past kept for paging through them: a few, briefly (they hold message text). */
const PAST_VIEWS_KEPT = 4;
const PAST_VIEW_MS = 30_000;
/** Latest pages kept encoded, by conversation and page size; each is checked against the log's version before it is served. */
const LATEST_PAGES_KEPT = 1000;
const LATEST_PAGE_MS = 60_000;
const ENCODE_GET_CONVERSATION = parleyService('ConversationService').service['GetConversation']!.responseSerialize as (value: unknown) => Buffer;

export class ConversationsGrpc {
  private readonly pastViews = new Map<string, { view: ConversationView; at: number }>();
  private readonly latestPages = new Map<string, { version: number; customerId: string; encoded: Buffer; at: number }>();
  constructor(
    private readonly log: EncryptingEventLog,
    private readonly store: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>,
    private readonly edge: GrpcEdge,
    private readonly models: ConversationReadModels,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {}

  handlers(): GrpcHandlers {
    const e = this.edge;
    return {
      GetConversation: e.unary('GetConversation', READERS, async (req: { conversation_id: string; page_size: number }, caller) => {
        const size = pageSize(req.page_size, 50, 200);
        const stream = conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id));
        // Read before the rows: a page made from an older generation is never kept under a newer one.
        const generation = await this.models.timeline.activeGeneration();
        const kept = await this.keptLatestPage(stream, size, generation);
        if (kept) return kept as never;
        const current = await this.current(caller, req.conversation_id);
        if (!current) return this.replayedPage(req.conversation_id, await this.replay(caller, req.conversation_id), latestBounds, size);
        const b = latestBounds(current.header.entries, size, req.conversation_id);
        const entries = await current.work.entriesBetween(current.stream, b.start, b.end);
        const response = {
          conversation: conversationToProto(req.conversation_id, headerView(current.header, entries)),
          previous_page_token: b.previousPageToken,
        };
        this.keepLatestPage(stream, size, generation, current.header, response);
        return response;
      }),
      GetConversationAt: e.unary(
        'GetConversationAt',
        READERS,
        async (req: { conversation_id: string; at?: { seconds: number; nanos: number }; page_size: number }, caller) => {
          const at = fromTimestamp(req.at);
          if (!at) throw new InvalidArgumentError('invalid request', [{ field: 'at', description: 'required' }]);
          const size = pageSize(req.page_size, 50, 200);
          return this.replayedPage(
            req.conversation_id,
            await this.replay(caller, req.conversation_id, at),
            (total, n, id) => latestBounds(total, n, id, at),
            size,
          );
        },
      ),
      ListTimeline: e.unary('ListTimeline', READERS, async (req: { conversation_id: string; page_token: string; page_size: number }, caller) => {
        const size = pageSize(req.page_size, 50, 200);
        const cursor = decodeTimelineToken(req.page_token ?? '', req.conversation_id);
        const current = cursor.at === undefined ? await this.current(caller, req.conversation_id) : null;
        if (!current) {
          const page = this.replayedPage(
            req.conversation_id,
            await this.replay(caller, req.conversation_id, cursor.at),
            (total) => boundsAt(total, cursor, size),
            size,
          );
          return { entries: page.conversation.timeline, previous_page_token: page.previous_page_token, next_page_token: page.next_page_token };
        }
        const b = boundsAt(current.header.entries, cursor, size);
        const entries = await current.work.entriesBetween(current.stream, b.start, b.end);
        return {
          entries: conversationToProto(req.conversation_id, headerView(current.header, entries)).timeline,
          previous_page_token: b.previousPageToken,
          next_page_token: b.nextPageToken,
        };
      }),
      ListConversations: e.unary(
        'ListConversations',
        READERS,
        async (req: { page_size: number; page_token: string; statuses: string[]; customer_id: string; agent_id: string; queue_id: string }, caller) => {
          const limit = pageSize(req.page_size, 50, 500);
          const statuses = req.statuses.map((st) => {
            const domain = STATUS_FROM_PROTO[st];
            if (!domain) throw new InvalidArgumentError('invalid request', [{ field: 'statuses', description: `unknown status ${st}` }]);
            return domain;
          });
          return this.page({
            where: {
              tenantId: caller.tenantId,
              ...(statuses.length ? { status: statuses } : {}),
              ...(req.customer_id ? { customerId: req.customer_id } : {}),
              ...(req.agent_id ? { agentId: req.agent_id } : {}),
              ...(req.queue_id ? { queueId: req.queue_id } : {}),
            },
            orderBy: { field: 'lastActivityAt', direction: 'desc' },
            limit,
            ...(req.page_token ? { pageToken: req.page_token } : {}),
          });
        },
      ),
      ListInbox: e.unary('ListInbox', READERS, async (req: { agent_id: string; page_size: number; page_token: string }, caller) => {
        const agentId = req.agent_id || caller.subject;
        if (agentId !== caller.subject && caller.role !== 'supervisor' && caller.role !== 'admin')
          throw new PermissionDeniedError(caller.role, 'ListInbox for another agent');
        return this.page({
          where: { tenantId: caller.tenantId, agentId, status: ['open', 'pending', 'snoozed'] },
          orderBy: { field: 'lastActivityAt', direction: 'desc' },
          limit: pageSize(req.page_size, 50, 500),
          ...(req.page_token ? { pageToken: req.page_token } : {}),
        });
      }),
      ListQueue: e.unary('ListQueue', READERS, async (req: { queue_id: string; page_size: number; page_token: string }, caller) =>
        this.page({
          where: { tenantId: caller.tenantId, queueId: requireId('queue_id', req.queue_id), agentId: '' },
          orderBy: { field: 'queueOrder', direction: 'asc' },
          limit: pageSize(req.page_size, 50, 500),
          ...(req.page_token ? { pageToken: req.page_token } : {}),
        }),
      ),
      SearchConversations: e.unary('SearchConversations', READERS, async (req: { query: string; page_size: number }, caller) => {
        const limit = pageSize(req.page_size, 20, 100);
        const wanted = words(req.query ?? '');
        if (wanted.length === 0 || wanted.length > 8)
          throw new InvalidArgumentError('invalid request', [{ field: 'query', description: '1 to 8 words of 2 or more letters or digits' }]);
        const table = await this.models.search.table(SEARCH_TABLE);
        let matches = null as Set<string> | null;
        for (const word of wanted) {
          const rows = await this.models.store.find<SearchTermRow>(table, {
            where: { tenantId: caller.tenantId, term: termOf(this.models.searchKey, caller.tenantId, word) },
            orderBy: { field: 'at', direction: 'desc' },
            limit: 1000,
          });
          const ids = new Set(rows.documents.map((r) => r.conversationId));
          matches = matches === null ? ids : new Set([...matches].filter((id) => ids.has(id)));
          if (matches.size === 0) break;
        }
        const list = await this.models.list.table(CONVERSATIONS_TABLE);
        const rows: ConversationRow[] = [];
        for (const id of matches ?? []) {
          const row = await this.models.store.get<ConversationRow>(list, conversationStream(caller.tenantId, id));
          if (row) rows.push(row);
        }
        rows.sort((a, b) => b.lastActivityAt.localeCompare(a.lastActivityAt));
        return { conversations: rows.slice(0, limit).map(rowToProto) };
      }),
      SendMessage: e.unary(
        'SendMessage',
        WRITERS,
        async (
          req: {
            conversation_id: string;
            message_id: string;
            channel: string;
            text: string;
            attachments: ProtoAttachment[];
            template?: { name: string; language: string; parameters: string[] } | null;
            human_agent_tag: boolean;
          },
          caller,
        ) => {
          const channel = channelFromProto(req.channel);
          const result = await this.run(caller, req.conversation_id, {
            type: 'SendMessage',
            messageId: requireId('message_id', req.message_id),
            ...(channel ? { channel } : {}),
            author: this.author(caller),
            ...(req.text ? { text: req.text } : {}),
            ...(req.attachments.length > 0
              ? {
                  attachments: req.attachments.map((a): Attachment => ({
                    ref: a.ref,
                    mimeType: a.mime_type,
                    sizeBytes: Number(a.size_bytes),
                    ...(a.name ? { name: a.name } : {}),
                  })),
                }
              : {}),
            ...(req.template ? { template: { name: req.template.name, language: req.template.language, parameters: req.template.parameters } } : {}),
            ...(req.human_agent_tag ? { tag: 'HUMAN_AGENT' as const } : {}),
            at: this.now(),
          });
          // The channel the reply went out on (or, for a repeated request, the one it went out on then).
          const sent = result.events.find((e) => e.type === 'conversation.message-sent')?.data as { channel?: Channel } | undefined;
          return { channel: channelToProto(sent?.channel ?? result.state.messages[req.message_id]?.channel ?? null), version: result.version };
        },
      ),
      EditMessage: e.unary('EditMessage', WRITERS, async (req: { conversation_id: string; message_id: string; text: string }, caller) => ({
        version: (
          await this.run(caller, req.conversation_id, {
            type: 'EditMessage',
            messageId: requireId('message_id', req.message_id),
            text: req.text,
            by: 'agent',
            at: this.now(),
          })
        ).version,
      })),
      DeleteMessage: e.unary('DeleteMessage', WRITERS, async (req: { conversation_id: string; message_id: string }, caller) => ({
        version: (
          await this.run(caller, req.conversation_id, {
            type: 'DeleteMessage',
            messageId: requireId('message_id', req.message_id),
            by: 'agent',
            at: this.now(),
          })
        ).version,
      })),
      ResolveConversation: e.unary('ResolveConversation', WRITERS, async (req: { conversation_id: string; survey: boolean }, caller) => {
        let survey: { messageId: string; text: string } | undefined;
        if (req.survey) {
          const { state } = await this.store.load(conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id)));
          const locale = state.customerId ? await this.models.customerLocale?.(caller.tenantId, state.customerId) : undefined;
          survey = { messageId: `survey-${timeOrderedId()}`, text: surveyText(locale) };
        }
        return {
          version: (await this.run(caller, req.conversation_id, { type: 'Resolve', by: this.author(caller), ...(survey ? { survey } : {}), at: this.now() }))
            .version,
        };
      }),
      MarkRead: e.unary('MarkRead', WRITERS, async (req: { conversation_id: string }, caller) => {
        const stream = conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id));
        const { state, version } = await this.store.load(stream);
        if (version === 0) throw new ConversationNotFoundError(req.conversation_id);
        // Receipts go by channel: one per channel the customer wrote on.
        const channels = (Object.keys(state.channels) as Channel[]).filter((c) => state.channels[c]?.lastCustomerMessageAt);
        const at = this.now();
        let latest = version;
        for (const channel of channels)
          latest = (await this.run(caller, req.conversation_id, { type: 'RecordReceipt', channel, status: 'read', reader: 'agent', upTo: at, at })).version;
        return { version: latest };
      }),
      SetTyping: e.unary('SetTyping', WRITERS, async (req: { conversation_id: string; typing: boolean }, caller) => ({
        // Shown where the customer is live: the chat widget.
        version: (
          await this.run(caller, req.conversation_id, {
            type: req.typing ? 'StartTyping' : 'StopTyping',
            by: 'agent',
            agentId: caller.subject,
            channel: 'web',
            at: this.now(),
          })
        ).version,
      })),
      ReopenConversation: e.unary('ReopenConversation', WRITERS, async (req: { conversation_id: string }, caller) => ({
        version: (await this.run(caller, req.conversation_id, { type: 'Reopen', reason: 'agent', at: this.now() })).version,
      })),
      SnoozeConversation: e.unary(
        'SnoozeConversation',
        WRITERS,
        async (req: { conversation_id: string; until?: { seconds: number; nanos: number } | null }, caller) => {
          const until = fromTimestamp(req.until);
          return {
            version: (await this.run(caller, req.conversation_id, { type: 'Snooze', by: this.author(caller), ...(until ? { until } : {}), at: this.now() }))
              .version,
          };
        },
      ),
      TagConversation: e.unary('TagConversation', WRITERS, async (req: { conversation_id: string; add: string[]; remove: string[] }, caller) => {
        let version = 0;
        for (const tag of req.add) version = (await this.run(caller, req.conversation_id, { type: 'Tag', tag: this.tag(tag), at: this.now() })).version;
        for (const tag of req.remove) version = (await this.run(caller, req.conversation_id, { type: 'Untag', tag: this.tag(tag), at: this.now() })).version;
        if (req.add.length + req.remove.length === 0) {
          version = await this.log.streamVersion(conversationStream(caller.tenantId, requireId('conversation_id', req.conversation_id)));
          if (version === 0) throw new ConversationNotFoundError(req.conversation_id);
        }
        return { version };
      }),
      SetPriority: e.unary('SetPriority', WRITERS, async (req: { conversation_id: string; priority: number }, caller) => {
        if (!Number.isInteger(req.priority) || req.priority < 0 || req.priority > 10)
          throw new InvalidArgumentError('invalid request', [{ field: 'priority', description: 'from 0 to 10' }]);
        return { version: (await this.run(caller, req.conversation_id, { type: 'SetPriority', priority: req.priority, at: this.now() })).version };
      }),
      RecordSatisfaction: e.unary('RecordSatisfaction', WRITERS, async (req: { conversation_id: string; score: number; comment: string }, caller) => ({
        version: (
          await this.run(caller, req.conversation_id, {
            type: 'RecordSatisfaction',
            score: req.score,
            ...(req.comment ? { comment: req.comment } : {}),
            at: this.now(),
          })
        ).version,
      })),
      AddNote: e.unary('AddNote', WRITERS, async (req: { conversation_id: string; note_id: string; text: string }, caller) => ({
        version: (
          await this.run(caller, req.conversation_id, {
            type: 'AddNote',
            noteId: requireId('note_id', req.note_id),
            agentId: caller.subject,
            text: req.text,
            at: this.now(),
          })
        ).version,
      })),
    };
  }

  /**
   * The conversation now, from the timeline read model plus the few events the
   * read model may be behind the log (applied in memory, never written from
   * here). Null when there is no readable header: not projected yet, or the
   * customer was erased; the caller then replays the stream.
   */
  private async current(caller: Caller, conversationId: string): Promise<{ stream: string; header: TimelineHeader; work: TimelineWork } | null> {
    const stream = conversationStream(caller.tenantId, requireId('conversation_id', conversationId));
    const timeline = this.models.timeline;
    const tables = {
      headers: await timeline.table(TIMELINE_HEADERS_TABLE),
      entries: await timeline.table(TIMELINE_ENTRIES_TABLE),
      messages: await timeline.table(TIMELINE_MESSAGES_TABLE),
    };
    const work = new TimelineWork(this.models.store, tables, this.log, this.models.rules);
    const stored = await work.header(stream);
    if (!stored) return null;
    for (const e of await this.log.readStream(stream, { from: stored.version + 1 })) await work.apply(e);
    return { stream, header: (await work.header(stream))!, work };
  }

  /**
   * The latest page as answered before, encoded, if the conversation has not
   * changed since (its log's version is the one the page was made at), its
   * customer was not erased and the read model was not rebuilt. An agent's desktop asks again and again for the
   * conversation it shows.
   */
  private async keptLatestPage(stream: string, size: number, generation: number): Promise<Buffer | null> {
    // A rebuilt read model (new rules) answers anew.
    const kept = this.latestPages.get(`${stream}|${size}|${generation}`);
    if (!kept || Date.now() - kept.at > LATEST_PAGE_MS) return null;
    if ((await this.log.streamVersion(stream)) !== kept.version || !(await this.log.hasKey(kept.customerId))) return null;
    return kept.encoded;
  }

  private keepLatestPage(stream: string, size: number, generation: number, header: TimelineHeader, response: unknown): void {
    const key = `${stream}|${size}|${generation}`;
    this.latestPages.delete(key);
    this.latestPages.set(key, {
      version: header.version,
      customerId: header.state.customerId ?? '',
      encoded: ENCODE_GET_CONVERSATION(response),
      at: Date.now(),
    });
    if (this.latestPages.size > LATEST_PAGES_KEPT) this.latestPages.delete(this.latestPages.keys().next().value!);
  }

  /**
   * The conversation replayed from its stream, as it stood at `until` (now when
   * absent): time travel, and the fallback. Reads only as far as `until`; a view
   * of the past is kept for a moment, so paging through it replays it once.
   */
  private async replay(caller: Caller, conversationId: string, until?: string): Promise<ConversationView> {
    const stream = conversationStream(caller.tenantId, requireId('conversation_id', conversationId));
    const key = until === undefined ? null : `${stream}@${until}`;
    const kept = key ? this.pastViews.get(key) : undefined;
    if (kept && Date.now() - kept.at < PAST_VIEW_MS) return kept.view;
    const limit = until === undefined ? Number.POSITIVE_INFINITY : Date.parse(until);
    const builder = new TimelineBuilder(undefined, this.models.rules);
    let read = 0;
    for (let from = 1; ;) {
      const events = await this.log.readStream(stream, { from, limit: 1000 });
      read += events.length;
      const past = events.findIndex((e) => Date.parse((e.data as { at: string }).at) > limit);
      for (const e of past < 0 ? events : events.slice(0, past)) builder.apply(toVersioned(e));
      if (past >= 0 || events.length < 1000) break;
      from = events.at(-1)!.streamVersion + 1;
    }
    if (read === 0) throw new ConversationNotFoundError(conversationId);
    const view = builder.view();
    if (key) {
      this.pastViews.delete(key);
      this.pastViews.set(key, { view, at: Date.now() });
      if (this.pastViews.size > PAST_VIEWS_KEPT) this.pastViews.delete(this.pastViews.keys().next().value!);
    }
    return view;
  }

  /** A page of a replayed conversation. */
  private replayedPage(
    conversationId: string,
    view: ConversationView,
    pick: (total: number, size: number, conversationId: string) => PageBounds,
    size: number,
  ) {
    const conversation = conversationToProto(conversationId, view);
    const b = pick(conversation.timeline.length, size, conversationId);
    return {
      conversation: { ...conversation, timeline: pageOf(conversation.timeline, b).entries },
      previous_page_token: b.previousPageToken,
      next_page_token: b.nextPageToken,
    };
  }

  private async page(query: FindQuery) {
    const page = await this.models.store.find<ConversationRow>(await this.models.list.table(CONVERSATIONS_TABLE), query);
    return { conversations: page.documents.map(rowToProto), next_page_token: page.nextPageToken };
  }

  private async run(caller: Caller, conversationId: string, command: ConversationCommand) {
    const stream = conversationStream(caller.tenantId, requireId('conversation_id', conversationId));
    const { state, version } = await this.store.load(stream);
    if (version === 0) throw new ConversationNotFoundError(conversationId);
    return this.store.handle(stream, command, {
      tenantId: caller.tenantId,
      correlationId: `${caller.subject}:${command.type}`.slice(0, 128),
      metadata: { subjectId: state.customerId, actor: caller.subject, role: caller.role },
    });
  }

  private author(caller: Caller): Author {
    return caller.role === 'integration' ? { kind: 'bot', botId: caller.subject } : { kind: 'agent', agentId: caller.subject };
  }

  private tag(tag: string): string {
    if (!/^[\p{L}\p{N}][\p{L}\p{N} _.-]{0,63}$/u.test(tag))
      throw new InvalidArgumentError('invalid request', [{ field: 'add', description: 'tags are 1 to 64 letters, digits, spaces, _ . -' }]);
    return tag;
  }
}
