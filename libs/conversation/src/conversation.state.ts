import type { Channel, ConversationEvent } from '@parley/contracts';

export type ConversationStatus = 'new' | 'open' | 'pending' | 'snoozed' | 'resolved';

/**
 * What the decider knows of one message, as facts that only ever join: origin
 * fields are set once, flags only turn on, receipt times only move earlier. So
 * the values stored beside different snapshots, and the ones gathered since,
 * combine in any order, and combining one twice changes nothing.
 */
export interface MessageFacts {
  /** `note`: an agent's private note, which shares the message ids so that a retried note is dropped. */
  readonly direction?: 'in' | 'out' | 'note';
  readonly channel?: Channel;
  readonly at?: string;
  readonly authorAgentId?: string | null;
  readonly deleted?: true;
  readonly edited?: true;
  /** Earliest delivery, read and failure times known, whatever order the receipts came in. */
  readonly deliveredAt?: string;
  readonly readAt?: string;
  readonly failedAt?: string;
}

/** Read marks ("read up to") of one channel and direction, and the span of its messages. */
export interface ReceiptMarks {
  readonly firstAt: string | null;
  readonly lastAt: string | null;
  readonly deliveredUpTo: string | null;
  readonly readUpTo: string | null;
}

export interface ChannelState {
  readonly lastCustomerMessageAt: string | null;
  readonly closed: boolean;
}

/**
 * Everything decide needs, and nothing personal: no text, no names. Plain JSON,
 * so it snapshots as it is. Bump SNAPSHOT_SCHEMA_VERSION when its shape changes.
 */
export interface ConversationState {
  readonly status: ConversationStatus;
  readonly conversationId: string | null;
  readonly customerId: string | null;
  readonly snoozedUntil: string | null;
  readonly channels: Readonly<Partial<Record<Channel, ChannelState>>>;
  readonly lastCustomerChannel: Channel | null;
  /**
   * Facts of the messages the events since the last snapshot touched; the
   * others are stored beside the snapshots and looked up when a command names
   * them (see conversationFacts). Bounded by the snapshot interval, not by the
   * conversation's length.
   */
  readonly messages: Readonly<Record<string, MessageFacts>>;
  /** `<channel>:<channel message id>` → message id, to drop redeliveries: the same, gathered since the last snapshot. */
  readonly channelMessageIds: Readonly<Record<string, string>>;
  /** By `<channel>:<in|out>`: read marks that cover many messages at once, kept as watermarks. */
  readonly marks: Readonly<Record<string, ReceiptMarks>>;
  readonly activeSessions: readonly string[];
  readonly customerTyping: boolean;
  readonly agentsTyping: readonly string[];
  /** The queue it waits in; null once an agent has it. */
  readonly queueId: string | null;
  readonly priority: number;
  readonly agentId: string | null;
  /** The queue it last entered, kept after assignment: where its agent's slot is released when it is resolved. */
  readonly lastQueueId: string | null;
  /** The agent last assigned, kept after the conversation is resolved: a returning customer is offered to them first. */
  readonly lastAgentId: string | null;
  readonly offer: { readonly offerId: string; readonly agentId: string; readonly expiresAt: string } | null;
  readonly tags: readonly string[];
  readonly satisfaction: number | null;
  /** A satisfaction survey was offered on this channel and not yet answered (until the conversation goes on). */
  readonly surveyOpen: Channel | null;
  /**
   * What the writer needs to measure response and resolution times when it
   * appends (metrics are counted where events are written, once, not by every
   * reader): since when the conversation is open, since when the customer waits
   * for a person, and whether a person has answered yet.
   */
  readonly clock: { readonly openedAt: string | null; readonly waitingSince: string | null; readonly answeredOnce: boolean };
}

export const SNAPSHOT_SCHEMA_VERSION = 5;

export function initialState(): ConversationState {
  return {
    status: 'new',
    conversationId: null,
    customerId: null,
    snoozedUntil: null,
    channels: {},
    lastCustomerChannel: null,
    messages: {},
    channelMessageIds: {},
    marks: {},
    activeSessions: [],
    customerTyping: false,
    agentsTyping: [],
    queueId: null,
    priority: 0,
    agentId: null,
    lastQueueId: null,
    lastAgentId: null,
    offer: null,
    tags: [],
    satisfaction: null,
    surveyOpen: null,
    clock: { openedAt: null, waitingSince: null, answeredOnce: false },
  };
}

const latest = (a: string | null, b: string): string => (a === null || Date.parse(b) > Date.parse(a) ? b : a);
const without = <T>(list: readonly T[], item: T): T[] => list.filter((x) => x !== item);
const withItem = <T>(list: readonly T[], item: T): T[] => (list.includes(item) ? [...list] : [...list, item]);

/** Two message facts together (see MessageFacts). */
export function joinFacts(a: MessageFacts | undefined, b: MessageFacts): MessageFacts {
  if (a === undefined) return b;
  const deleted = a.deleted ?? b.deleted;
  const edited = a.edited ?? b.edited;
  const deliveredAt = earliestOf(a.deliveredAt, b.deliveredAt);
  const readAt = earliestOf(a.readAt, b.readAt);
  const failedAt = earliestOf(a.failedAt, b.failedAt);
  const direction = a.direction ?? b.direction;
  const channel = a.channel ?? b.channel;
  const at = a.at ?? b.at;
  const authorAgentId = a.authorAgentId !== undefined ? a.authorAgentId : b.authorAgentId;
  return {
    ...(direction !== undefined ? { direction } : {}),
    ...(channel !== undefined ? { channel } : {}),
    ...(at !== undefined ? { at } : {}),
    ...(authorAgentId !== undefined ? { authorAgentId } : {}),
    ...(deleted ? { deleted } : {}),
    ...(edited ? { edited } : {}),
    ...(deliveredAt !== undefined ? { deliveredAt } : {}),
    ...(readAt !== undefined ? { readAt } : {}),
    ...(failedAt !== undefined ? { failedAt } : {}),
  };
}

function earliestOf(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Date.parse(b) < Date.parse(a) ? b : a;
}

const sooner = (a: string | null, b: string): string => (a === null || Date.parse(b) < Date.parse(a) ? b : a);

/**
 * How the two fact indexes are written. `evolve` copies them, as a pure function
 * must; `evolveAll` copies them once and then writes into its own copies, so
 * replaying many events is linear. Both give equal states (a property test
 * checks it).
 */
interface IndexWriter {
  putMessage(messages: ConversationState['messages'], id: string, m: MessageFacts): ConversationState['messages'];
  putChannelId(ids: ConversationState['channelMessageIds'], key: string, id: string): ConversationState['channelMessageIds'];
}

/**
 * A copy of an index, built in an object without a prototype and given
 * Object.prototype afterwards: the same plain object as `{ ...index }`, made six
 * times faster, because adding keys to a prototype-less object skips the prototype lookups.
 */
export function copyIndex<V>(index: Readonly<Record<string, V>>): Record<string, V> {
  const copy = Object.create(null) as Record<string, V>;
  for (const key in index) copy[key] = index[key]!;
  return Object.setPrototypeOf(copy, Object.prototype) as Record<string, V>;
}

function withEntry<V>(index: Readonly<Record<string, V>>, key: string, value: V): Record<string, V> {
  const copy = copyIndex(index);
  copy[key] = value;
  return copy;
}

const copying: IndexWriter = {
  putMessage: (messages, id, m) => withEntry(messages, id, m),
  putChannelId: (ids, key, id) => withEntry(ids, key, id),
};

/** Writes in place: only for indexes this fold owns (copied at its start). */
const inPlace: IndexWriter = {
  putMessage: (messages, id, m) => {
    (messages as Record<string, MessageFacts>)[id] = m;
    return messages;
  },
  putChannelId: (ids, key, id) => {
    (ids as Record<string, string>)[key] = id;
    return ids;
  },
};

/** Keeps no message facts: for readers that need the conversation's state but not its messages (the timeline). */
const discarding: IndexWriter = {
  putMessage: (messages) => messages,
  putChannelId: (ids) => ids,
};

export function evolve(state: ConversationState, event: ConversationEvent): ConversationState {
  return step(state, event, copying);
}

/** The state without any message facts: for readers that keep the conversation's state but track messages themselves (the timeline read model). */
export function evolveWithoutMessages(state: ConversationState, event: ConversationEvent): ConversationState {
  return step(state, event, discarding);
}

/** Folds many events at once, in linear time: the same result as folding `evolve`. */
export function evolveAll(state: ConversationState, events: Iterable<ConversationEvent>): ConversationState {
  const replay = startReplay(state);
  let current = state;
  for (const event of events) current = replay.apply(event);
  return current;
}

/**
 * Applies events one by one in linear time, for readers that look at every
 * intermediate state (the timeline). A returned state is valid until the next
 * `apply`, which writes into the same indexes.
 */
export function startReplay(
  state: ConversationState,
  options: { readonly withoutMessages?: boolean } = {},
): { apply(event: ConversationEvent): ConversationState } {
  const writer = options.withoutMessages ? discarding : inPlace;
  let current: ConversationState = options.withoutMessages
    ? { ...state, messages: {}, channelMessageIds: {} }
    : { ...state, messages: copyIndex(state.messages), channelMessageIds: copyIndex(state.channelMessageIds) };
  return {
    apply(event) {
      current = step(current, event, writer);
      return current;
    },
  };
}

function withMark(state: ConversationState, key: string, change: (m: ReceiptMarks) => ReceiptMarks): ConversationState['marks'] {
  return { ...state.marks, [key]: change(state.marks[key] ?? { firstAt: null, lastAt: null, deliveredUpTo: null, readUpTo: null }) };
}

const spanned =
  (at: string) =>
  (m: ReceiptMarks): ReceiptMarks => ({ ...m, firstAt: sooner(m.firstAt, at), lastAt: latest(m.lastAt, at) });

function step(state: ConversationState, event: ConversationEvent, w: IndexWriter): ConversationState {
  switch (event.type) {
    case 'conversation.started':
      return {
        ...state,
        status: 'open',
        conversationId: event.data.conversationId,
        customerId: event.data.customerId,
        clock: { ...state.clock, openedAt: event.data.at },
      };
    case 'conversation.message-received': {
      const d = event.data;
      const channel = state.channels[d.channel];
      return {
        ...state,
        clock: state.clock.waitingSince === null ? { ...state.clock, waitingSince: d.at } : state.clock,
        // The customer answered: no longer waiting on them.
        status: state.status === 'pending' ? 'open' : state.status,
        channels: {
          ...state.channels,
          [d.channel]: { lastCustomerMessageAt: latest(channel?.lastCustomerMessageAt ?? null, d.at), closed: channel?.closed ?? false },
        },
        lastCustomerChannel: d.channel,
        messages: w.putMessage(
          state.messages,
          d.messageId,
          joinFacts(state.messages[d.messageId], { direction: 'in', channel: d.channel, at: d.at, authorAgentId: null, deliveredAt: d.at }),
        ),
        channelMessageIds: w.putChannelId(state.channelMessageIds, `${d.channel}:${d.channelMessageId}`, d.messageId),
        marks: withMark(state, `${d.channel}:in`, spanned(d.at)),
        customerTyping: false,
      };
    }
    case 'conversation.message-sent': {
      const d = event.data;
      const agentId = d.author.kind === 'agent' ? d.author.agentId : null;
      return {
        ...state,
        messages: w.putMessage(
          state.messages,
          d.messageId,
          joinFacts(state.messages[d.messageId], { direction: 'out', channel: d.channel, at: d.at, authorAgentId: agentId }),
        ),
        marks: withMark(state, `${d.channel}:out`, spanned(d.at)),
        agentsTyping: agentId ? without(state.agentsTyping, agentId) : state.agentsTyping,
        clock: agentId ? { ...state.clock, waitingSince: null, answeredOnce: true } : state.clock,
      };
    }
    case 'conversation.message-accepted':
      return {
        ...state,
        channelMessageIds: w.putChannelId(state.channelMessageIds, `${event.data.channel}:${event.data.channelMessageId}`, event.data.messageId),
      };
    // A message the state does not hold (its facts are stored) gets a patch, joined with them when looked up.
    case 'conversation.message-edited':
      return { ...state, messages: w.putMessage(state.messages, event.data.messageId, joinFacts(state.messages[event.data.messageId], { edited: true })) };
    case 'conversation.message-deleted':
      return { ...state, messages: w.putMessage(state.messages, event.data.messageId, joinFacts(state.messages[event.data.messageId], { deleted: true })) };
    case 'conversation.receipt-recorded': {
      const d = event.data;
      if (d.messageId !== undefined) {
        // Read implies delivered, even if the delivery receipt is late or lost.
        const patch: MessageFacts =
          d.status === 'failed' ? { failedAt: d.at } : d.status === 'read' ? { readAt: d.at, deliveredAt: d.at } : { deliveredAt: d.at };
        return { ...state, messages: w.putMessage(state.messages, d.messageId, joinFacts(state.messages[d.messageId], patch)) };
      }
      if (d.status === 'failed') return state;
      const upTo = d.upTo ?? d.at;
      const key = `${d.channel}:${d.reader === 'customer' ? 'out' : 'in'}`;
      return {
        ...state,
        marks: withMark(state, key, (m) => ({
          ...m,
          deliveredUpTo: latest(m.deliveredUpTo, upTo),
          readUpTo: d.status === 'read' ? latest(m.readUpTo, upTo) : m.readUpTo,
        })),
      };
    }
    case 'conversation.typing-started':
      return event.data.by === 'customer'
        ? { ...state, customerTyping: true }
        : { ...state, agentsTyping: withItem(state.agentsTyping, event.data.agentId ?? '') };
    case 'conversation.typing-stopped':
      return event.data.by === 'customer'
        ? { ...state, customerTyping: false }
        : { ...state, agentsTyping: without(state.agentsTyping, event.data.agentId ?? '') };
    case 'conversation.session-started':
      return { ...state, activeSessions: withItem(state.activeSessions, event.data.sessionId) };
    case 'conversation.session-ended':
      return { ...state, activeSessions: without(state.activeSessions, event.data.sessionId), customerTyping: false };
    case 'conversation.marked-pending':
      return { ...state, status: 'pending' };
    case 'conversation.snoozed':
      return { ...state, status: 'snoozed', snoozedUntil: event.data.until ?? null };
    case 'conversation.resolved':
      return { ...state, status: 'resolved', snoozedUntil: null, satisfaction: null, clock: { ...state.clock, openedAt: null, waitingSince: null } };
    case 'conversation.reopened':
      // The conversation goes on: a survey not answered by now is not asked any more.
      return { ...state, status: 'open', snoozedUntil: null, surveyOpen: null, clock: { ...state.clock, openedAt: event.data.at } };
    case 'conversation.queued':
      return { ...state, queueId: event.data.queueId, lastQueueId: event.data.queueId, priority: event.data.priority, offer: null };
    case 'conversation.offered':
      return { ...state, offer: { offerId: event.data.offerId, agentId: event.data.agentId, expiresAt: event.data.expiresAt } };
    case 'conversation.offer-declined':
      return state.offer?.offerId === event.data.offerId ? { ...state, offer: null } : state;
    case 'conversation.assigned':
      return { ...state, agentId: event.data.agentId, lastAgentId: event.data.agentId, offer: null, queueId: null };
    case 'conversation.transferred':
      return event.data.to.kind === 'agent' && event.data.mode === 'cold'
        ? { ...state, agentId: event.data.to.agentId, lastAgentId: event.data.to.agentId }
        : state;
    case 'conversation.unassigned':
      return state.agentId === event.data.agentId ? { ...state, agentId: null } : state;
    case 'conversation.priority-set':
      return { ...state, priority: event.data.priority };
    case 'conversation.tagged':
      return { ...state, tags: withItem(state.tags, event.data.tag) };
    case 'conversation.untagged':
      return { ...state, tags: without(state.tags, event.data.tag) };
    case 'conversation.satisfaction-recorded':
      return { ...state, satisfaction: event.data.score, surveyOpen: null };
    case 'conversation.survey-offered':
      return { ...state, surveyOpen: event.data.channel };
    case 'conversation.page-context-recorded':
      return state;
    case 'conversation.note-added':
      return {
        ...state,
        messages: w.putMessage(
          state.messages,
          event.data.noteId,
          joinFacts(state.messages[event.data.noteId], { direction: 'note', at: event.data.at, authorAgentId: event.data.agentId }),
        ),
      };
    case 'conversation.channel-closed': {
      const channel = state.channels[event.data.channel];
      return {
        ...state,
        channels: { ...state.channels, [event.data.channel]: { lastCustomerMessageAt: channel?.lastCustomerMessageAt ?? null, closed: true } },
      };
    }
  }
}

const MESSAGE_FACT = 'message:';
const CHANNEL_MESSAGE_FACT = 'channel-message:';

export const messageFactKey = (messageId: string) => `${MESSAGE_FACT}${messageId}`;
export const channelMessageFactKey = (channel: Channel, channelMessageId: string) => `${CHANNEL_MESSAGE_FACT}${channel}:${channelMessageId}`;

/** A message is known once its origin (received or sent) is among its facts; a note is not a message. */
export const isKnown = (m: MessageFacts | undefined): m is MessageFacts & { direction: 'in' | 'out'; channel: Channel; at: string } =>
  m?.direction === 'in' || m?.direction === 'out';
/** The id names a message or a note already: the same command again changes nothing. */
export const isTaken = (m: MessageFacts | undefined): boolean => m?.direction !== undefined;

/** The facts the state gathered, ready to store beside a snapshot, and the state without them. */
export function takeFacts(state: ConversationState): { state: ConversationState; facts: { key: string; value: unknown }[] } {
  const facts: { key: string; value: unknown }[] = [];
  for (const id in state.messages) facts.push({ key: messageFactKey(id), value: state.messages[id] });
  for (const key in state.channelMessageIds) facts.push({ key: `${CHANNEL_MESSAGE_FACT}${key}`, value: state.channelMessageIds[key] });
  return { state: { ...state, messages: {}, channelMessageIds: {} }, facts };
}

/** The state with stored facts joined in (stored values first: the state's own are newer). */
export function withFacts(state: ConversationState, found: ReadonlyMap<string, readonly unknown[]>): ConversationState {
  if (found.size === 0) return state;
  const messages = copyIndex(state.messages);
  const channelMessageIds = copyIndex(state.channelMessageIds);
  for (const [key, values] of found) {
    if (key.startsWith(MESSAGE_FACT)) {
      const id = key.slice(MESSAGE_FACT.length);
      let joined: MessageFacts | undefined;
      for (const v of values) joined = joinFacts(joined, v as MessageFacts);
      const own = state.messages[id];
      if (joined) messages[id] = own ? joinFacts(joined, own) : joined;
    } else if (key.startsWith(CHANNEL_MESSAGE_FACT) && typeof values[0] === 'string') {
      channelMessageIds[key.slice(CHANNEL_MESSAGE_FACT.length)] ??= values[0];
    }
  }
  return { ...state, messages, channelMessageIds };
}
