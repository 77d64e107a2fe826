import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';
import { conversationStream } from './conversations/conversations.grpc';
import type { RunningHistory } from './history.app';
import { bearer, ferretBackend, rpc, sqliteBackend, type Backend, type Seed, startTestHistory } from './testing/history.fixture';

type Row = { id: string; unread_count: number; waiting_since: { seconds: string } | null; priority: number };
type Page = { conversations: Row[]; next_page_token: string };
// One instant for the whole seed: durations between seeded events are exact however slow the seeding is.
const SEEDED_AT = Date.now();
const minutesAgo = (m: number) => new Date(SEEDED_AT - m * 60_000).toISOString();

for (const [name, make] of [
  ['SQLite', sqliteBackend],
  ['FerretDB', ferretBackend],
] as const) {
  describe(`history: inbox, queue, search and service levels (${name})`, () => {
    let backend: Backend;
    let running: RunningHistory;
    let client: Client;
    let seed: Seed;
    let qLowQueuedAt = '';
    const write = (tenant: string, id: string, customer: string, command: Parameters<Seed['store']['handle']>[1]) =>
      seed.store.handle(conversationStream(tenant, id), command, { tenantId: tenant, metadata: { subjectId: customer } });
    const received = (id: string, customer: string, messageId: string, text: string, at: string) =>
      ({
        type: 'ReceiveMessage',
        conversationId: id,
        customerId: customer,
        messageId,
        channel: 'web',
        channelMessageId: `${id}-${messageId}`,
        text,
        at,
      }) as const;

    before(async () => {
      backend = make();
      running = await startTestHistory(backend);
      const Conversations = parleyService('ConversationService');
      client = new Conversations(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
      seed = await backend.seed();
      // Three waiting in the support queue: q-low came first, q-high has priority.
      await write('brand-a', 'q-low', 'cust-q1', received('q-low', 'cust-q1', 'm1', 'my invoice is wrong', minutesAgo(30)));
      qLowQueuedAt = minutesAgo(30);
      await write('brand-a', 'q-low', 'cust-q1', { type: 'Queue', queueId: 'support', priority: 0, reason: 'new', at: qLowQueuedAt });
      await write('brand-a', 'q-mid', 'cust-q2', received('q-mid', 'cust-q2', 'm1', 'where is my parcel', minutesAgo(20)));
      await write('brand-a', 'q-mid', 'cust-q2', { type: 'Queue', queueId: 'support', priority: 0, reason: 'new', at: minutesAgo(20) });
      await write('brand-a', 'q-high', 'cust-q3', received('q-high', 'cust-q3', 'm1', 'Invoice téléchargée?', minutesAgo(10)));
      await write('brand-a', 'q-high', 'cust-q3', { type: 'Queue', queueId: 'support', priority: 5, reason: 'new', at: minutesAgo(10) });
      // Two owned by agent-1, one by agent-2; one of agent-1's resolved.
      for (const [id, agent] of [
        ['own-1', 'agent-1'],
        ['own-2', 'agent-1'],
        ['own-3', 'agent-2'],
      ] as const) {
        await write('brand-a', id, `cust-${id}`, received(id, `cust-${id}`, 'm1', 'hello', minutesAgo(120)));
        await write('brand-a', id, `cust-${id}`, { type: 'Queue', queueId: 'support', priority: 0, reason: 'new', at: minutesAgo(119) });
        await write('brand-a', id, `cust-${id}`, { type: 'Assign', agentId: agent, at: minutesAgo(118) });
      }
      await write('brand-a', 'own-1', 'cust-own-1', {
        type: 'SendMessage',
        messageId: 'a1',
        author: { kind: 'agent', agentId: 'agent-1' },
        text: 'hi there',
        at: minutesAgo(110),
      });
      await write('brand-a', 'own-1', 'cust-own-1', received('own-1', 'cust-own-1', 'm2', 'thanks', minutesAgo(100)));
      await write('brand-a', 'own-1', 'cust-own-1', received('own-1', 'cust-own-1', 'm3', 'one more thing', minutesAgo(90)));
      await write('brand-a', 'own-2', 'cust-own-2', { type: 'Resolve', by: { kind: 'agent', agentId: 'agent-1' }, at: minutesAgo(60) });
      await write('brand-b', 'other', 'cust-b', received('other', 'cust-b', 'm1', 'my invoice is wrong', minutesAgo(5)));
    });
    after(async () => {
      client.close();
      await seed.close();
      await running.close();
      await backend.cleanup();
    });

    it("lists a queue in offer order, with waiting times, only the caller's tenant's", async () => {
      const md = await bearer('brand-a');
      const page = await waitFor(
        () => rpc<Page>(client, 'ListQueue', { queue_id: 'support' }, md),
        (p) => p.conversations.length === 3,
        { what: 'the queue view' },
      );
      assert.deepEqual(
        page.conversations.map((c) => c.id),
        ['q-high', 'q-low', 'q-mid'],
        'priority first, then first come first served',
      );
      // Since it was queued, to the second: whatever the time the suite takes.
      assert.equal(Number(page.conversations[1]!.waiting_since!.seconds), Math.floor(Date.parse(qLowQueuedAt) / 1000), 'q-low waits since it was queued');
      const firstPage = await rpc<Page>(client, 'ListQueue', { queue_id: 'support', page_size: 2 }, await bearer('brand-a'));
      const secondPage = await rpc<Page>(
        client,
        'ListQueue',
        { queue_id: 'support', page_size: 2, page_token: firstPage.next_page_token },
        await bearer('brand-a'),
      );
      assert.deepEqual(
        [...firstPage.conversations, ...secondPage.conversations].map((c) => c.id),
        ['q-high', 'q-low', 'q-mid'],
      );
      assert.deepEqual((await rpc<Page>(client, 'ListQueue', { queue_id: 'support' }, await bearer('brand-b'))).conversations, []);
    });

    it('shows an agent their unresolved conversations with unread counts; other inboxes only to supervisors', async () => {
      const mine = await waitFor(
        async () => rpc<Page>(client, 'ListInbox', {}, await bearer('brand-a')),
        (p) => p.conversations.length === 1 && p.conversations[0]!.unread_count === 2,
        { what: 'the inbox' },
      );
      assert.deepEqual(
        mine.conversations.map((c) => c.id),
        ['own-1'],
        "own-2 is resolved, own-3 is agent-2's",
      );
      assert.equal(mine.conversations[0]!.unread_count, 2, 'two customer messages since the answer');
      // MarkRead: through the API, idempotent, never another tenant's, and a clear error for a missing id.
      await assert.rejects(rpc(client, 'MarkRead', { conversation_id: 'own-1' }, await bearer('brand-b')), (e: ServiceError) => e.code === status.NOT_FOUND);
      await assert.rejects(rpc(client, 'MarkRead', { conversation_id: '' }, await bearer('brand-a')), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
      const marked = await rpc<{ version: number }>(client, 'MarkRead', { conversation_id: 'own-1' }, await bearer('brand-a'));
      const again = await rpc<{ version: number }>(client, 'MarkRead', { conversation_id: 'own-1' }, await bearer('brand-a'));
      assert.equal(Number(again.version), Number(marked.version), 'read already: nothing written');
      // SetTyping: a change only when it changes, never another tenant's.
      const typing = await rpc<{ version: number }>(client, 'SetTyping', { conversation_id: 'own-1', typing: true }, await bearer('brand-a'));
      assert.equal(Number(typing.version), Number(marked.version) + 1);
      assert.equal(
        Number((await rpc<{ version: number }>(client, 'SetTyping', { conversation_id: 'own-1', typing: true }, await bearer('brand-a'))).version),
        Number(typing.version),
        'typing already',
      );
      assert.equal(
        Number((await rpc<{ version: number }>(client, 'SetTyping', { conversation_id: 'own-1', typing: false }, await bearer('brand-a'))).version),
        Number(typing.version) + 1,
      );
      await assert.rejects(
        rpc(client, 'SetTyping', { conversation_id: 'own-1', typing: true }, await bearer('brand-b')),
        (e: ServiceError) => e.code === status.NOT_FOUND,
      );
      await waitFor(
        async () => (await rpc<Page>(client, 'ListInbox', {}, await bearer('brand-a'))).conversations[0]?.unread_count,
        (n) => n === 0,
        { what: 'read by the agent' },
      );
      await assert.rejects(
        rpc(client, 'ListInbox', { agent_id: 'agent-2' }, await bearer('brand-a')),
        (e: ServiceError) => e.code === status.PERMISSION_DENIED,
      );
      const theirs = await rpc<Page>(client, 'ListInbox', { agent_id: 'agent-2' }, await bearer('brand-a', 'supervisor', 'sup-1'));
      assert.deepEqual(
        theirs.conversations.map((c) => c.id),
        ['own-3'],
      );
      assert.deepEqual(
        (await rpc<Page>(client, 'ListInbox', {}, await bearer('brand-b'))).conversations,
        [],
        'agent-1 of another tenant has an inbox of its own',
      );
    });

    it("finds conversations by the words of their messages, across accents and case, never another tenant's", async () => {
      const search = async (query: string, tenant = 'brand-a') =>
        (await rpc<Page>(client, 'SearchConversations', { query }, await bearer(tenant))).conversations.map((c) => c.id);
      await waitFor(
        () => search('invoice'),
        (ids) => ids.length === 2,
        { what: 'the search index' },
      );
      assert.deepEqual(await search('INVOICE'), ['q-high', 'q-low'], 'newest activity first');
      assert.deepEqual(await search('telechargee invoice'), ['q-high'], 'every word must match; accents do not matter');
      assert.deepEqual(await search('parcel'), ['q-mid']);
      assert.deepEqual(await search('nothing-like-this'), []);
      assert.deepEqual(await search('invoice', 'brand-b'), ['other']);
      await assert.rejects(
        rpc(client, 'SearchConversations', { query: '!' }, await bearer('brand-a')),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
      );
    });

    it('serves the stored timeline, up to date with what was just written, with service levels', async () => {
      type Conv = {
        version: string;
        timeline: { message?: { id: string } }[];
        service_levels: { first_response: { seconds: string } | null; queue_waits: { seconds: string }[]; waiting_since: unknown };
      };
      const md = await bearer('brand-a');
      await waitFor(
        async () => (await rpc<{ conversation: Conv }>(client, 'GetConversation', { conversation_id: 'own-1' }, md)).conversation.version,
        (v) => Number(v) > 0,
      );
      const sent = await rpc<{ version: string }>(client, 'SendMessage', { conversation_id: 'own-1', message_id: 'fresh', text: 'right away' }, md);
      const { conversation } = await rpc<{ conversation: Conv }>(client, 'GetConversation', { conversation_id: 'own-1' }, md);
      assert.equal(conversation.version, sent.version, 'read your own write, even before the projection has it');
      assert.equal(conversation.timeline.at(-1)?.message?.id, 'fresh');
      assert.equal(Number(conversation.service_levels.first_response?.seconds), 10 * 60, 'first answer 10 minutes after the first message');
      assert.deepEqual(
        conversation.service_levels.queue_waits.map((d) => Number(d.seconds)),
        [60],
      );
      assert.equal(conversation.service_levels.waiting_since, null, 'answered');
      const replayed = await rpc<{ conversation: Conv }>(
        client,
        'GetConversationAt',
        { conversation_id: 'own-1', at: { seconds: Math.floor(Date.now() / 1000) + 60, nanos: 0 } },
        md,
      );
      assert.deepEqual(replayed.conversation, conversation, 'the stored view is what a replay gives');
    });
  });
}
