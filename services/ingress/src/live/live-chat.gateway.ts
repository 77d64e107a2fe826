import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server } from 'node:http';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { z } from 'zod';
import { Attachment, PageAttributes, streams, type ConversationEvent } from '@parley/contracts';
import { ConversationNotStartedError, conversationView, type ConversationCommand } from '@parley/conversation';
import { IdentityTakenError } from '@parley/customer';
import type { CustomerDirectory } from '@parley/customer-directory';
import { ParleyError, describeIssues } from '@parley/errors';
import { timeOrderedId, type ReadStreamOptions, type RecordedEvent } from '@parley/event-log';
import { gauge, type Logger, type Registry } from '@parley/observability';
import type { InboundRecorder } from '../inbound/inbound.recorder';
import type { LiveFeed } from './live.feed';
import { LIVE_BEAT_MS, type SharedLiveConnections } from './shared-live.connections';
import type { VisitorTokens } from './visitor.tokens';
import { OriginNotAllowedError, type WidgetOrigins } from '../http/widget.origins';

/** Messages a client may send before its conversation is ready; more is abuse. */
const MAX_EARLY_MESSAGES = 20;
/** The widget opens with the latest messages, read from the newest events back a page at a time. */
const HISTORY_MESSAGES = 100;
const HISTORY_PAGE = 500;

const ClientMessage = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('message'),
    id: z.string().regex(/^[A-Za-z0-9_.:-]{1,100}$/),
    text: z.string().min(1).max(4096).optional(),
    attachments: z.array(Attachment).max(10).optional(),
  }),
  z.object({ type: z.literal('typing'), on: z.boolean() }),
  z.object({ type: z.literal('read') }),
  /** The visitor's answer to the satisfaction survey. */
  z.object({ type: z.literal('rate'), score: z.number().int().min(1).max(5) }),
  /** The page the visitor is on, what it says of them, and what the brand signed of them. */
  z.object({
    type: z.literal('context'),
    url: z.url({ protocol: /^https?$/ }).max(2048),
    attributes: PageAttributes.default({}),
    signed: z.string().min(1).max(4096).optional(),
  }),
]);

/** What the widget is told: messages of every channel, receipts, the agent typing. Never another customer's. */
export function toWire(event: RecordedEvent): Record<string, unknown> | null {
  const d = event.data as Record<string, unknown>;
  switch (event.type) {
    case 'conversation.message-received':
    case 'conversation.message-sent': {
      const author = d['author'] as { kind: string; agentId?: string } | undefined;
      return {
        type: 'message',
        message: {
          id: d['messageId'],
          inbound: event.type === 'conversation.message-received',
          channel: d['channel'],
          text: typeof d['text'] === 'string' ? d['text'] : null,
          attachments: d['attachments'] ?? [],
          author: author ? { kind: author.kind, ...(author.agentId ? { agentId: author.agentId } : {}) } : null,
          at: d['at'],
        },
        version: event.streamVersion,
      };
    }
    case 'conversation.receipt-recorded':
      return {
        type: 'receipt',
        status: d['status'],
        reader: d['reader'],
        messageId: d['messageId'] ?? null,
        upTo: d['upTo'] ?? null,
        at: d['at'],
        version: event.streamVersion,
      };
    case 'conversation.survey-offered':
      return d['channel'] === 'web' ? { type: 'survey', version: event.streamVersion } : null;
    case 'conversation.satisfaction-recorded':
      return { type: 'rated', score: d['score'], version: event.streamVersion };
    case 'conversation.typing-started':
    case 'conversation.typing-stopped':
      return d['by'] === 'agent' ? { type: 'typing', by: 'agent', on: event.type === 'conversation.typing-started', version: event.streamVersion } : null;
    default:
      return null;
  }
}

interface Session {
  /** Set once `started` resolves: a new session's, or the one another replica holds. */
  sessionId: string;
  readonly sockets: Set<WebSocket>;
  endTimer: NodeJS.Timeout | null;
  started: Promise<void>;
}

/**
 * The chat widget's WebSocket, `/live?token=<visitor token>[&identity=<JWT>]`.
 * Every open connection of one customer (tabs, devices once identified) sees
 * the same live stream. A live-chat session starts with the first connection and
 * ends when the last one has been gone for the grace period; the conversation
 * lives on. The protocol is in docs/channels.md.
 */
export class LiveChatGateway {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly sessions = new Map<string, Session>();
  private readonly connections;
  private readonly sessionCount;
  private closing = false;

  constructor(
    private readonly tokens: VisitorTokens,
    private readonly directory: CustomerDirectory,
    private readonly recorder: InboundRecorder,
    private readonly feed: LiveFeed,
    /** Reads a conversation for its history (the sealed log: texts opened), as EventLog.readStream does. */
    private readonly readStream: (stream: string, options: ReadStreamOptions) => Promise<readonly RecordedEvent[]>,
    private readonly graceMs: number,
    private readonly logger: Logger,
    registry: Registry,
    /** The websites allowed to carry each tenant's widget (any, when not given). */
    private readonly origins?: WidgetOrigins,
    /** With several replicas: who else holds connections of a conversation, so that its tabs on all of them are one session. */
    private readonly shared?: SharedLiveConnections,
  ) {
    this.connections = gauge(registry, { name: 'parley_ingress_live_connections', help: 'Open live-chat WebSocket connections.' });
    this.sessionCount = gauge(registry, {
      name: 'parley_ingress_live_sessions',
      help: 'Live-chat sessions this replica holds connections of, or keeps through the grace period after the last one closed.',
    });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/live') return;
      this.wss.handleUpgrade(req, socket, head, (ws) => void this.connected(ws, url, req));
    });
  }

  async close(): Promise<void> {
    // Connections closed by the shutdown leave their sessions open: the widgets reconnect,
    // maybe to another replica, which carries them on (or ends them, if nobody comes back).
    this.closing = true;
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    for (const session of this.sessions.values()) if (session.endTimer) clearTimeout(session.endTimer);
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private async connected(ws: WebSocket, url: URL, req: IncomingMessage): Promise<void> {
    const send = (message: Record<string, unknown>) => ws.readyState === ws.OPEN && ws.send(JSON.stringify(message));
    // A client may write as soon as the socket opens: keep what arrives before the conversation is ready.
    const early: RawData[] = [];
    const keepEarly = (raw: RawData) => (early.length < MAX_EARLY_MESSAGES ? early.push(raw) : ws.close(1008, 'too many messages before ready'));
    ws.on('message', keepEarly);
    let tenantId: string;
    let customerId: string;
    try {
      const visitor = await this.tokens.verify(url.searchParams.get('token') ?? '');
      tenantId = visitor.tenantId;
      if (this.origins && !this.origins.allows(tenantId, req.headers.origin, req)) throw new OriginNotAllowedError(req.headers.origin ?? '', tenantId);
      customerId = await this.customerOf(tenantId, visitor.visitorId, url.searchParams.get('identity'));
    } catch (error) {
      const code = error instanceof ParleyError ? error.code : 'INTERNAL';
      send({ type: 'error', code, message: error instanceof Error ? error.message : 'failed' });
      ws.close(error instanceof OriginNotAllowedError ? 4403 : error instanceof ParleyError ? 4401 : 1011, code);
      return;
    }
    this.connections.inc();
    const stream = streams.conversation(tenantId, customerId);
    const device = (url.searchParams.get('device') ?? req.headers['user-agent'] ?? 'browser').slice(0, 200);
    const envelope = { tenantId, metadata: { subjectId: customerId, actor: 'channel:web' } };
    const run = (command: ConversationCommand) => this.recorder.conversations.handle(stream, command, envelope);

    // Watch first, then read the history: nothing written in between is missed, and versions drop repeats.
    let sentUpTo = 0;
    const pending: RecordedEvent[] = [];
    let ready = false;
    const deliver = (event: RecordedEvent) => {
      if (event.streamVersion <= sentUpTo) return;
      sentUpTo = event.streamVersion;
      const wire = toWire(event);
      if (wire) send(wire);
    };
    const unwatch = this.feed.watch(stream, (event) => (ready ? deliver(event) : pending.push(event)));
    const session = await this.join(stream, ws, run, customerId, tenantId, device);
    const history = await this.historyOf(stream);
    sentUpTo = history.version;
    send({
      type: 'ready',
      conversationId: customerId,
      sessionId: session.sessionId,
      messages: history.messages,
      version: history.version,
      // Resolved with a survey the visitor has not answered yet: the widget asks.
      survey: history.survey,
    });
    ready = true;
    for (const event of pending.splice(0)) deliver(event);

    // The page context waits for the conversation to start (the first message), and is recorded once per change.
    let context: { url: string; attributes: PageAttributes; verifiedAttributes: PageAttributes } | null = null;
    let contextRecorded = '';
    // Messages of one socket are handled concurrently: recording the context goes one at a time, so a change is written once.
    let contextTurn: Promise<void> = Promise.resolve();
    const recordContext = (at: string) => {
      const turn = contextTurn.then(async () => {
        const key = JSON.stringify(context);
        if (!context || key === contextRecorded) return;
        try {
          await run({ type: 'RecordPageContext', ...context, at });
          contextRecorded = key;
        } catch (error) {
          if (!(error instanceof ConversationNotStartedError)) throw error;
        }
      });
      contextTurn = turn.catch(() => undefined);
      return turn;
    };
    const received = (raw: RawData) => {
      void (async () => {
        let parsed;
        try {
          parsed = ClientMessage.parse(JSON.parse(raw.toString()));
        } catch (error) {
          send({
            type: 'error',
            code: 'INVALID_MESSAGE',
            message: error instanceof z.ZodError ? describeIssues(error.issues) : 'not JSON',
          });
          return;
        }
        const at = new Date().toISOString();
        try {
          if (parsed.type === 'message') {
            const result = await run({
              type: 'ReceiveMessage',
              conversationId: customerId,
              customerId,
              messageId: `web-${parsed.id}`,
              channel: 'web',
              channelMessageId: parsed.id,
              ...(parsed.text ? { text: parsed.text } : {}),
              attachments: parsed.attachments ?? [],
              device,
              sessionId: session.sessionId,
              at,
            });
            send({ type: 'ack', id: parsed.id, messageId: `web-${parsed.id}`, version: result.version });
            await recordContext(at);
          } else if (parsed.type === 'typing') {
            await run({ type: parsed.on ? 'StartTyping' : 'StopTyping', by: 'customer', channel: 'web', at });
          } else if (parsed.type === 'context') {
            // Signed attributes are the brand's word: they become the customer's attributes too (routing rules may use them).
            const verifiedAttributes = parsed.signed ? await this.tokens.attributes(tenantId, parsed.signed) : {};
            context = { url: parsed.url, attributes: parsed.attributes, verifiedAttributes };
            if (Object.keys(verifiedAttributes).length > 0)
              await this.directory.customers.handleAll(
                streams.customer(tenantId, customerId),
                Object.entries(verifiedAttributes).map(([key, value]) => ({ type: 'SetAttribute' as const, key, value, at })),
                { tenantId, metadata: { subjectId: customerId, actor: 'channel:web' } },
              );
            await recordContext(at);
          } else if (parsed.type === 'rate') {
            // Every tab hears the answer as `rated`, from the event.
            await run({ type: 'RecordSatisfaction', score: parsed.score, at });
          } else {
            // The visitor has seen everything we sent until now.
            await run({ type: 'RecordReceipt', channel: 'web', status: 'read', reader: 'customer', upTo: at, at });
          }
        } catch (error) {
          send({ type: 'error', code: error instanceof ParleyError ? error.code : 'INTERNAL', message: error instanceof Error ? error.message : 'failed' });
          if (!(error instanceof ParleyError)) this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'live chat command failed');
        }
      })();
    };
    ws.off('message', keepEarly);
    ws.on('message', received);
    for (const raw of early.splice(0)) received(raw);
    const closed = () => {
      unwatch();
      this.connections.dec();
      this.leave(stream, ws, run);
    };
    // The visitor may have left while the conversation was being made ready.
    if (ws.readyState === ws.CLOSED || ws.readyState === ws.CLOSING) closed();
    else ws.on('close', closed);
  }

  /** The customer a widget's request speaks for: its visitor token, and the brand's identity token when signed in. */
  async visitorCustomer(visitorToken: string, identityToken: string | null): Promise<{ tenantId: string; customerId: string }> {
    const visitor = await this.tokens.verify(visitorToken);
    return { tenantId: visitor.tenantId, customerId: await this.customerOf(visitor.tenantId, visitor.visitorId, identityToken) };
  }

  private async customerOf(tenantId: string, visitorId: string, identityToken: string | null): Promise<string> {
    const who = { tenantId, actor: 'channel:web' };
    const at = new Date().toISOString();
    if (identityToken) {
      const userId = await this.tokens.identify(tenantId, identityToken);
      const known = await this.directory.find(tenantId, { kind: 'external', id: userId });
      if (known) return known;
      const { customerId } = await this.directory.resolve(who, { kind: 'visitor', id: visitorId }, 'anonymous', timeOrderedId, at);
      try {
        await this.directory.link(who, customerId, { kind: 'external', id: userId }, 'signed-jwt', at);
        return customerId;
      } catch (error) {
        if (error instanceof IdentityTakenError) return error.ownerCustomerId;
        throw error;
      }
    }
    return (await this.directory.resolve(who, { kind: 'visitor', id: visitorId }, 'anonymous', timeOrderedId, at)).customerId;
  }

  /**
   * The latest messages the widget shows (100), from the newest events back:
   * the cost of opening the chat does not grow with a conversation of years.
   * Edits and receipts of the messages shown are among those events.
   */
  private async historyOf(stream: string): Promise<{ version: number; messages: unknown[]; survey: boolean }> {
    const tail: RecordedEvent[] = [];
    let found = 0;
    for (let from: number | undefined; ;) {
      const page = await this.readStream(stream, { direction: 'backward', limit: HISTORY_PAGE, ...(from === undefined ? {} : { from }) });
      tail.push(...page);
      found += page.filter((e) => e.type === 'conversation.message-received' || e.type === 'conversation.message-sent').length;
      if (found >= HISTORY_MESSAGES || page.length < HISTORY_PAGE || page.at(-1)!.streamVersion <= 1) break;
      from = page.at(-1)!.streamVersion - 1;
    }
    tail.reverse();
    const view = conversationView(tail.map((e) => ({ event: { type: e.type, data: e.data } as ConversationEvent, version: e.streamVersion })));
    const messages = view.timeline
      .filter((t) => t.kind === 'message' && !t.deleted)
      .slice(-HISTORY_MESSAGES)
      .map((t) =>
        t.kind === 'message'
          ? {
              id: t.id,
              inbound: t.inbound,
              channel: t.channel,
              text: t.erased ? null : t.text,
              attachments: t.attachments,
              author: t.author,
              at: t.at,
              deliveredAt: t.deliveredAt,
              readAt: t.readAt,
            }
          : null,
      );
    // The survey comes last, after the messages: within the events read.
    return { version: view.version, messages, survey: view.state.surveyOpen === 'web' && view.state.status === 'resolved' };
  }

  private async join(
    stream: string,
    ws: WebSocket,
    run: (c: ConversationCommand) => Promise<{ events: readonly RecordedEvent[] }>,
    customerId: string,
    tenantId: string,
    device: string,
  ): Promise<Session> {
    const existing = this.sessions.get(stream);
    if (existing) {
      if (existing.endTimer) clearTimeout(existing.endTimer);
      existing.endTimer = null;
      existing.sockets.add(ws);
      await existing.started;
      return existing;
    }
    const session: Session = { sessionId: randomUUID(), sockets: new Set([ws]), endTimer: null, started: Promise.resolve() };
    this.sessions.set(stream, session);
    this.sessionCount.set(this.sessions.size);
    session.started = this.startOrJoin(session, stream, run, customerId, tenantId, device);
    try {
      await session.started;
    } catch (error) {
      if (this.sessions.get(stream) === session) this.sessions.delete(stream);
      this.sessionCount.set(this.sessions.size);
      throw error;
    }
    this.shared?.opened(stream, { tenantId, customerId });
    return session;
  }

  /**
   * Starts a session, or joins the one another replica holds for the same
   * conversation (the visitor's other tab, or this tab reloaded onto another
   * replica within the grace period). A session left open by a replica that died
   * with its connections is ended first.
   */
  private async startOrJoin(
    session: Session,
    stream: string,
    run: (c: ConversationCommand) => Promise<{ events: readonly RecordedEvent[] }>,
    customerId: string,
    tenantId: string,
    device: string,
  ): Promise<void> {
    const at = new Date().toISOString();
    const { state } = await this.recorder.conversations.load(stream);
    const active = state.activeSessions.at(-1);
    // A replica that has just started hears the holders within a beat.
    if (active && this.shared && (await this.shared.heldElsewhereWithin(stream, LIVE_BEAT_MS * 1.5))) {
      session.sessionId = active;
      return;
    }
    // Held by nobody: left open by a replica (or this process, before a restart) that stopped with its connections.
    for (const stale of state.activeSessions) await run({ type: 'EndSession', sessionId: stale, reason: 'timed-out', at });
    const result = await run({ type: 'StartSession', conversationId: customerId, customerId, sessionId: session.sessionId, device, at });
    if (result.events.some((e) => e.type === 'conversation.started')) {
      await this.directory.customers.handle(
        streams.customer(tenantId, customerId),
        { type: 'AttachConversation', conversationId: customerId, at },
        { tenantId, metadata: { subjectId: customerId, actor: 'channel:web' } },
      );
    }
  }

  /** Ends the sessions of a conversation whose replicas all went silent holding it (see SharedLiveConnections). */
  async endAbandoned(stream: string, owner: { tenantId: string; customerId: string }): Promise<void> {
    if (this.sessions.has(stream)) return;
    const envelope = { tenantId: owner.tenantId, metadata: { subjectId: owner.customerId, actor: 'channel:web' } };
    const { state } = await this.recorder.conversations.load(stream);
    const at = new Date().toISOString();
    for (const sessionId of state.activeSessions)
      await this.recorder.conversations.handle(stream, { type: 'EndSession', sessionId, reason: 'timed-out', at }, envelope);
  }

  private leave(stream: string, ws: WebSocket, run: (c: ConversationCommand) => Promise<unknown>): void {
    const session = this.sessions.get(stream);
    if (!session) return;
    session.sockets.delete(ws);
    if (session.sockets.size > 0 || this.closing) return;
    session.endTimer = setTimeout(() => {
      if (session.sockets.size > 0) return;
      this.sessions.delete(stream);
      this.sessionCount.set(this.sessions.size);
      this.shared?.closed(stream);
      // Still open in a tab on another replica: that one ends it when its last tab goes.
      if (this.shared?.heldElsewhere(stream)) return;
      void run({ type: 'EndSession', sessionId: session.sessionId, reason: 'left-page', at: new Date().toISOString() }).catch((error: unknown) =>
        this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'could not end a live-chat session'),
      );
    }, this.graceMs);
  }
}
