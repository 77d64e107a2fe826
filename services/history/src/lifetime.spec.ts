import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, type Client } from '@grpc/grpc-js';
import { EVENT_CONTRACTS, type ConversationEvent } from '@parley/contracts';
import { conversationDecider, SNAPSHOT_SCHEMA_VERSION, type ConversationCommand, type ConversationState } from '@parley/conversation';
import { DeciderStore, type NewEvent } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { ProjectionRunner } from '@parley/read-model';
import { openStorage, type Storage } from '@parley/storage';
import { loadHistoryConfig } from './config/history.config';
import { conversationStream } from './conversations/conversations.grpc';
import { startHistory, type RunningHistory } from './history.app';
import { historyProjections } from './projections/history.projections';
import {
  CHUNK_ENTRIES,
  chunkId,
  TIMELINE_ENTRIES_TABLE,
  TIMELINE_HEADERS_TABLE,
  type TimelineChunkRow,
  type TimelineHeaderRow,
} from './projections/timeline/timeline.rows';
import { MASTER, SECRET, bearer, rpc } from './testing/history.fixture';

const EVENTS = 20_000;
const T0 = Date.parse('2025-01-01T00:00:00.000Z');
const at = (i: number) => new Date(T0 + i * 60_000).toISOString();
const CUSTOMER = 'cust-lifetime';
const stream = conversationStream('brand-a', 'conv-lifetime');
const meta = { subjectId: CUSTOMER };

/**
 * Years of one customer, 20,000 events: messages both ways, read receipts for
 * every reply, a web session now and then, a message edited long after it was
 * written, and read marks. `messages` counts the message entries, in order.
 */
function lifetime(): { events: NewEvent[]; messageIds: string[] } {
  const events: NewEvent[] = [
    {
      type: 'conversation.started',
      tenantId: 'brand-a',
      metadata: meta,
      data: { conversationId: 'conv-lifetime', customerId: CUSTOMER, channel: 'web', at: at(0) },
    },
  ];
  const messageIds: string[] = [];
  const push = (type: string, data: Record<string, unknown>) =>
    events.push({ type, tenantId: 'brand-a', metadata: meta, data: { ...data, at: at(events.length) } });
  while (events.length < EVENTS - 1) {
    const i = events.length;
    if (i % 1000 === 10) push('conversation.session-started', { sessionId: `s${i}` });
    else if (i % 1000 === 20) push('conversation.session-ended', { sessionId: `s${i - 10}`, reason: 'left-page' });
    else if (i % 500 === 7) push('conversation.receipt-recorded', { channel: 'web', status: 'read', reader: 'agent', upTo: at(i) });
    else if (i % 3 === 0) {
      messageIds.push(`m${i}`);
      push('conversation.message-received', {
        messageId: `m${i}`,
        channel: 'web',
        channelMessageId: `w${i}`,
        text: `question ${i} about order 123`,
        attachments: [],
      });
    } else if (i % 3 === 1) {
      messageIds.push(`o${i}`);
      push('conversation.message-sent', {
        messageId: `o${i}`,
        channel: 'web',
        author: { kind: 'agent', agentId: 'agent-1' },
        text: `answer ${i}`,
        attachments: [],
      });
    } else push('conversation.receipt-recorded', { channel: 'web', status: 'read', reader: 'customer', messageId: `o${i - 1}` });
  }
  // Long after: the first customer message is edited.
  push('conversation.message-edited', { messageId: 'm3', text: 'question 3, corrected', by: 'customer' });
  return { events, messageIds };
}

type Entry = { at: { seconds: string }; message?: { id: string; text: string; edited: boolean; erased: boolean; receipts: { read_at: unknown } } };
type Page = { entries: Entry[]; previous_page_token: string; next_page_token: string };

describe(`a lifetime conversation of ${EVENTS.toLocaleString('en-US')} events (SQLite)`, () => {
  let dir: string;
  let storage: Storage;
  let running: RunningHistory;
  let client: Client;
  let written: ReturnType<typeof lifetime>;
  const projections = () => historyProjections(storage.log, storage.masterKey, {});

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-lifetime-'));
    storage = await openStorage(
      { PARLEY_STORE: 'sqlite', PARLEY_SQLITE_FILE: join(dir, 'events.db'), PARLEY_MONGO_DATABASE: 'unused', PARLEY_MASTER_KEY: MASTER },
      new Registry(),
    );
    written = lifetime();
    let version = 0;
    for (let i = 0; i < written.events.length; i += 1000)
      version = (await storage.log.append(stream, written.events.slice(i, i + 1000), version)).nextExpectedVersion;
  });
  after(async () => {
    client?.close();
    if (running) await running.close();
    else await storage.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('projects it with a bounded number of rows and sealed bytes per event, and after a restart only the new events cost anything', async () => {
    const timeline = projections().timeline;
    const runner = new ProjectionRunner({ log: storage.log, store: storage.readModels, projection: timeline, registry: new Registry(), batchSize: 500 });
    assert.equal(await runner.catchUp(), EVENTS);
    // Re-sealing the whole view per event, as before, wrote about EVENTS²/2 entries' worth; rows one by one stay linear.
    assert.ok(timeline.stats.rowsWritten <= 3 * EVENTS, `${timeline.stats.rowsWritten} rows for ${EVENTS} events`);
    assert.ok(timeline.stats.bytesSealed / EVENTS < 1500, `${Math.round(timeline.stats.bytesSealed / EVENTS)} bytes sealed per event`);

    // A restart: a new runner goes on from the checkpoint, and 100 more events cost about 100 events' work.
    const more = Array.from({ length: 100 }, (_, i): NewEvent => ({
      type: 'conversation.message-received',
      tenantId: 'brand-a',
      metadata: meta,
      data: { messageId: `late-${i}`, channel: 'web', channelMessageId: `late-${i}`, text: `late ${i}`, attachments: [], at: at(EVENTS + i) },
    }));
    await storage.log.append(stream, more, EVENTS);
    const restarted = projections().timeline;
    assert.equal(await new ProjectionRunner({ log: storage.log, store: storage.readModels, projection: restarted, registry: new Registry() }).catchUp(), 100);
    assert.ok(restarted.stats.rowsWritten <= 3 * 100, `${restarted.stats.rowsWritten} rows for 100 events`);
    assert.ok(restarted.stats.bytesSealed / 100 < 3000, `${Math.round(restarted.stats.bytesSealed / 100)} bytes sealed per event`);
  });

  it('loads it for a command from a bounded state, with the facts of its oldest messages looked up', async () => {
    const store = new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      snapshotEvery: 200,
    });
    // The first command after the bulk write takes the first snapshot and stores the facts beside it.
    const envelope = { tenantId: 'brand-a', metadata: meta };
    await store.handle(
      stream,
      { type: 'SendMessage', messageId: 'after-years', author: { kind: 'agent', agentId: 'agent-1' }, text: 'still here', at: at(EVENTS + 200) },
      envelope,
    );
    const loaded = await new DeciderStore<ConversationCommand, ConversationEvent, ConversationState>({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    }).load(stream);
    assert.equal(loaded.version, EVENTS + 101);
    assert.ok(Object.keys(loaded.state.messages).length < 10, `${Object.keys(loaded.state.messages).length} message facts held`);
    assert.ok(JSON.stringify(loaded.state).length < 5000, 'the state is small');
    // A redelivery of the very first customer message is still dropped; the first reply can still be deleted.
    assert.deepEqual(
      (
        await store.handle(
          stream,
          {
            type: 'ReceiveMessage',
            conversationId: 'conv-lifetime',
            customerId: CUSTOMER,
            messageId: 'dup',
            channel: 'web',
            channelMessageId: 'w3',
            text: 'again',
            at: at(EVENTS + 300),
          },
          envelope,
        )
      ).events,
      [],
    );
    const deleted = await store.handle(stream, { type: 'DeleteMessage', messageId: 'o1', by: 'agent', at: at(EVENTS + 301) }, envelope);
    assert.deepEqual(
      deleted.events.map((e) => e.type),
      ['conversation.message-deleted'],
    );
  });

  it('serves the latest page, pages back to the first entry and forward to the last, and travels in time', async () => {
    running = await startHistory(
      loadHistoryConfig({
        PARLEY_STORE: 'sqlite',
        PARLEY_SQLITE_FILE: join(dir, 'events.db'),
        PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0',
        PARLEY_HISTORY_HTTP_PORT: '0',
        PARLEY_MASTER_KEY: MASTER,
        PARLEY_TOKEN_SECRETS: SECRET,
      }),
      { registry: new Registry(), httpHost: '127.0.0.1', storage },
    );
    client = new (parleyService('ConversationService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
    const md = await bearer('brand-a');
    const latest = await rpc<{ conversation: { timeline: Entry[]; version: string }; previous_page_token: string }>(
      client,
      'GetConversation',
      { conversation_id: 'conv-lifetime', page_size: 50 },
      md,
    );
    assert.equal(latest.conversation.timeline.length, 50);
    assert.equal(latest.conversation.timeline.at(-1)!.message?.id, 'after-years');
    assert.equal(Number(latest.conversation.version), EVENTS + 102);

    const seconds = (e: Entry) => Number(e.at.seconds);
    const backwards: Entry[][] = [latest.conversation.timeline];
    let token = latest.previous_page_token;
    let firstPage: Page | null = null;
    while (token) {
      firstPage = await rpc<Page>(client, 'ListTimeline', { conversation_id: 'conv-lifetime', page_token: token, page_size: 200 }, md);
      backwards.unshift(firstPage.entries);
      token = firstPage.previous_page_token;
    }
    const all = backwards.flat();
    const messages = all.filter((e) => e.message);
    assert.deepEqual(
      messages.map((e) => e.message!.id),
      [...written.messageIds, ...Array.from({ length: 100 }, (_, i) => `late-${i}`), 'after-years'],
    );
    assert.ok(
      all.every((e, i) => i === 0 || seconds(all[i - 1]!) <= seconds(e)),
      'in order',
    );
    assert.deepEqual(
      messages.slice(0, 2).map((e) => e.message!.id),
      ['o1', 'm3'],
    );
    assert.equal(messages[0]!.message!.text, '', 'the deleted reply shows no text');
    assert.ok(messages[0]!.message!.receipts.read_at, "the customer's read receipt reached the first reply");
    assert.equal(messages[1]!.message!.text, 'question 3, corrected');

    // Forward from the first page to the end: the same entries.
    const forwards: Entry[] = [...backwards[0]!];
    token = firstPage!.next_page_token;
    while (token) {
      const page = await rpc<Page>(client, 'ListTimeline', { conversation_id: 'conv-lifetime', page_token: token, page_size: 200 }, md);
      forwards.push(...page.entries);
      token = page.next_page_token;
    }
    assert.equal(forwards.length, all.length);
    assert.deepEqual(
      forwards.map((e) => e.message?.id ?? seconds(e)),
      all.map((e) => e.message?.id ?? seconds(e)),
    );

    // Half-way through the years: the page ends there, the first message not yet edited.
    const middle = EVENTS / 2;
    const then = await rpc<{ conversation: { timeline: Entry[] }; previous_page_token: string }>(
      client,
      'GetConversationAt',
      { conversation_id: 'conv-lifetime', at: { seconds: Math.floor(Date.parse(at(middle)) / 1000) }, page_size: 50 },
      md,
    );
    assert.ok(seconds(then.conversation.timeline.at(-1)!) <= Date.parse(at(middle)) / 1000);
    assert.ok(seconds(then.conversation.timeline.at(-1)!) >= Date.parse(at(middle - 5)) / 1000);
    let past = then.previous_page_token;
    let oldest: Page | null = null;
    while (past) {
      oldest = await rpc<Page>(client, 'ListTimeline', { conversation_id: 'conv-lifetime', page_token: past, page_size: 200 }, md);
      past = oldest.previous_page_token;
    }
    const [reply, question] = oldest!.entries.filter((e) => e.message);
    assert.equal(reply!.message!.text, 'answer 1', 'not deleted yet');
    assert.equal(question!.message!.text, 'question 3 about order 123', 'not edited yet');
    assert.equal(question!.message!.edited, false);
  });

  it('after erasure, no row of it can be read and none holds its words', async () => {
    await storage.log.erase(CUSTOMER);
    const table = (name: string) => `${name}_g1`;
    const header = await storage.readModels.get<TimelineHeaderRow>(table(TIMELINE_HEADERS_TABLE), stream);
    assert.ok(header, 'the header row is there');
    assert.equal(await storage.log.openFor(header.customerId, header.sealed), null);
    const rows = await storage.readModels.getMany<TimelineChunkRow>(
      table(TIMELINE_ENTRIES_TABLE),
      Array.from({ length: EVENTS / CHUNK_ENTRIES + 10 }, (_, index) => chunkId(stream, index)),
    );
    assert.ok(rows.length * CHUNK_ENTRIES > EVENTS / 2, `${rows.length} chunks of entries`);
    for (const row of rows) {
      assert.equal(await storage.log.openFor(CUSTOMER, row.sealed), null, `chunk ${row.index} is unreadable`);
      assert.ok(!JSON.stringify(row).includes('order 123'));
    }
    const md = await bearer('brand-a');
    const { conversation } = await rpc<{ conversation: { timeline: Entry[] } }>(
      client,
      'GetConversation',
      { conversation_id: 'conv-lifetime', page_size: 10 },
      md,
    );
    assert.ok(
      conversation.timeline.filter((e) => e.message).every((e) => e.message!.erased && e.message!.text === ''),
      'only erased messages are shown',
    );
  });
});
