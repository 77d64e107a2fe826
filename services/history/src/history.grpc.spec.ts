import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, status, type Client, type Metadata, type ServiceError } from '@grpc/grpc-js';
import { fieldViolationsOf, parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { waitFor } from '@parley/testing-support';
import { loadHistoryConfig } from './config/history.config';
import { conversationStream } from './conversations/conversations.grpc';
import { startHistory, type RunningHistory } from './history.app';
import { MASTER, SECRET, bearer, ferretBackend, hoursAgo, rpc, sqliteBackend, type Backend } from './testing/history.fixture';

for (const [name, make] of [
  ['SQLite', sqliteBackend],
  ['FerretDB', ferretBackend],
] as const) {
  describe(`history: ConversationService over gRPC (${name})`, () => {
    let backend: Backend;
    let running: RunningHistory;
    let client: Client;
    let seed: Awaited<ReturnType<Backend['seed']>>;
    const registry = new Registry();

    before(async () => {
      backend = make();
      running = await startHistory(
        loadHistoryConfig({
          ...backend.env,
          PARLEY_HISTORY_GRPC_ADDRESS: '127.0.0.1:0',
          PARLEY_HISTORY_HTTP_PORT: '0',
          PARLEY_MASTER_KEY: MASTER,
          PARLEY_TOKEN_SECRETS: SECRET,
        }),
        { registry, httpHost: '127.0.0.1' },
      );
      const Conversations = parleyService('ConversationService');
      client = new Conversations(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
      seed = await backend.seed();
      const envelope = { tenantId: 'brand-a', metadata: { subjectId: 'cust-1' } };
      // conv-1: the customer wrote on the web, then on WhatsApp an hour ago.
      await seed.store.handle(
        conversationStream('brand-a', 'conv-1'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-1',
          customerId: 'cust-1',
          messageId: 'm1',
          channel: 'web',
          channelMessageId: 'w1',
          text: 'hello from the site',
          device: 'laptop',
          at: hoursAgo(3),
        },
        envelope,
      );
      await seed.store.handle(
        conversationStream('brand-a', 'conv-1'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-1',
          customerId: 'cust-1',
          messageId: 'm2',
          channel: 'whatsapp',
          channelMessageId: 'wamid.2',
          text: 'and now from my phone',
          at: hoursAgo(1),
        },
        envelope,
      );
      // conv-old: last WhatsApp message two days ago.
      await seed.store.handle(
        conversationStream('brand-a', 'conv-old'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-old',
          customerId: 'cust-1',
          messageId: 'm1',
          channel: 'whatsapp',
          channelMessageId: 'wamid.old',
          text: 'anyone?',
          at: hoursAgo(48),
        },
        envelope,
      );
    });
    after(async () => {
      client.close();
      await seed.close();
      await running.close();
      await backend.cleanup();
    });

    it('gets a conversation with its whole timeline across channels', async () => {
      const { conversation } = await rpc<{
        conversation: {
          customer_id: string;
          status: string;
          last_customer_channel: string;
          timeline: { message?: { text: string; channel: string; device: string } }[];
        };
      }>(client, 'GetConversation', { conversation_id: 'conv-1' }, await bearer('brand-a'));
      assert.equal(conversation.customer_id, 'cust-1');
      assert.equal(conversation.status, 'CONVERSATION_STATUS_OPEN');
      assert.equal(conversation.last_customer_channel, 'CHANNEL_WHATSAPP');
      const messages = conversation.timeline.filter((t) => t.message).map((t) => [t.message!.channel, t.message!.text]);
      assert.deepEqual(messages, [
        ['CHANNEL_WEB', 'hello from the site'],
        ['CHANNEL_WHATSAPP', 'and now from my phone'],
      ]);
    });

    it('pages a long timeline: the latest page first, then backwards and forwards with page tokens, also in the past', async () => {
      const md = await bearer('brand-a');
      const stream = conversationStream('brand-a', 'conv-long');
      const envelope = { tenantId: 'brand-a', metadata: { subjectId: 'cust-long' } };
      // 130 messages, one a minute; the conversation starts with a status mark, so 131 entries.
      const minute = (i: number) => new Date(Date.parse(hoursAgo(5)) + i * 60_000).toISOString();
      for (let i = 0; i < 130; i++)
        await seed.store.handle(
          stream,
          {
            type: 'ReceiveMessage',
            conversationId: 'conv-long',
            customerId: 'cust-long',
            messageId: `m${i}`,
            channel: 'whatsapp',
            channelMessageId: `wamid.long.${i}`,
            text: `message ${i}`,
            at: minute(i),
          },
          envelope,
        );
      type Entry = { message?: { text: string } };
      const texts = (entries: readonly Entry[]) => entries.filter((e) => e.message).map((e) => e.message!.text);
      const latest = await rpc<{ conversation: { timeline: Entry[] }; previous_page_token: string }>(
        client,
        'GetConversation',
        { conversation_id: 'conv-long', page_size: 50 },
        md,
      );
      assert.deepEqual(
        texts(latest.conversation.timeline),
        Array.from({ length: 50 }, (_, i) => `message ${80 + i}`),
      );
      const back = await rpc<{ entries: Entry[]; previous_page_token: string; next_page_token: string }>(
        client,
        'ListTimeline',
        { conversation_id: 'conv-long', page_token: latest.previous_page_token, page_size: 50 },
        md,
      );
      assert.deepEqual(
        texts(back.entries),
        Array.from({ length: 50 }, (_, i) => `message ${30 + i}`),
      );
      const first = await rpc<{ entries: Entry[]; previous_page_token: string; next_page_token: string }>(
        client,
        'ListTimeline',
        { conversation_id: 'conv-long', page_token: back.previous_page_token, page_size: 50 },
        md,
      );
      assert.equal(first.entries.length, 31, 'the status mark and messages 0 to 29');
      assert.deepEqual(
        texts(first.entries),
        Array.from({ length: 30 }, (_, i) => `message ${i}`),
      );
      assert.equal(first.previous_page_token, '', 'the beginning');
      const forward = await rpc<{ entries: Entry[]; next_page_token: string }>(
        client,
        'ListTimeline',
        { conversation_id: 'conv-long', page_token: first.next_page_token, page_size: 50 },
        md,
      );
      assert.deepEqual(texts(forward.entries), texts(back.entries), 'forwards again: the same page');
      // The past: as it stood after message 99, paged the same way and never past that moment.
      const then = await rpc<{ conversation: { timeline: Entry[] }; previous_page_token: string }>(
        client,
        'GetConversationAt',
        { conversation_id: 'conv-long', at: { seconds: Math.floor(Date.parse(minute(99)) / 1000) + 1, nanos: 0 }, page_size: 20 },
        md,
      );
      assert.deepEqual(
        texts(then.conversation.timeline),
        Array.from({ length: 20 }, (_, i) => `message ${80 + i}`),
      );
      const before = await rpc<{ entries: Entry[]; next_page_token: string }>(
        client,
        'ListTimeline',
        { conversation_id: 'conv-long', page_token: then.previous_page_token, page_size: 20 },
        md,
      );
      const onwards = await rpc<{ entries: Entry[]; next_page_token: string }>(
        client,
        'ListTimeline',
        { conversation_id: 'conv-long', page_token: before.next_page_token, page_size: 50 },
        md,
      );
      assert.deepEqual(texts(onwards.entries).at(-1), 'message 99', 'a page of the past stays in the past');
      assert.equal(onwards.next_page_token, '');
      // A token of another conversation, or none at all, is refused.
      for (const [conversation_id, page_token] of [
        ['conv-1', latest.previous_page_token],
        ['conv-long', 'not a token'],
      ]) {
        await assert.rejects(
          rpc(client, 'ListTimeline', { conversation_id, page_token }, md),
          (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'page_token'),
        );
      }
      await assert.rejects(
        rpc(client, 'GetConversation', { conversation_id: 'conv-long', page_size: 201 }, md),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
      );
    });

    it('sends on the channel the customer last used, idempotently, and shows it', async () => {
      const md = await bearer('brand-a');
      const sent = await rpc<{ channel: string; version: number }>(
        client,
        'SendMessage',
        { conversation_id: 'conv-1', message_id: 'reply-1', text: 'we are on it' },
        md,
      );
      assert.equal(sent.channel, 'CHANNEL_WHATSAPP');
      const again = await rpc<{ version: number }>(client, 'SendMessage', { conversation_id: 'conv-1', message_id: 'reply-1', text: 'we are on it' }, md);
      assert.equal(again.version, sent.version, 'sending the same message id again changes nothing');
      const { conversation } = await rpc<{ conversation: { timeline: { message?: { id: string; inbound: boolean; author?: { agent_id?: string } } }[] } }>(
        client,
        'GetConversation',
        { conversation_id: 'conv-1' },
        md,
      );
      const reply = conversation.timeline.find((t) => t.message?.id === 'reply-1')!.message!;
      assert.equal(reply.inbound, false);
      assert.equal(reply.author?.agent_id, 'agent-1');
    });

    it('adds private notes to the timeline agents read, once per note id, refusing an empty one', async () => {
      const md = await bearer('brand-a');
      const added = await rpc<{ version: number }>(client, 'AddNote', { conversation_id: 'conv-1', note_id: 'note-1', text: 'VIP: refund without asking' }, md);
      const again = await rpc<{ version: number }>(client, 'AddNote', { conversation_id: 'conv-1', note_id: 'note-1', text: 'VIP: refund without asking' }, md);
      assert.equal(again.version, added.version, 'the same note id again adds nothing');
      await assert.rejects(
        rpc(client, 'AddNote', { conversation_id: 'conv-1', note_id: 'note-2', text: '  ' }, md),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'text'),
      );
      const { conversation } = await rpc<{ conversation: { timeline: { type: string; note?: { id: string; agent_id: string; text: string } }[] } }>(
        client,
        'GetConversation',
        { conversation_id: 'conv-1' },
        md,
      );
      const notes = conversation.timeline.filter((t) => t.note);
      assert.deepEqual(
        notes.map((t) => [t.type, t.note!.id, t.note!.agent_id, t.note!.text]),
        [['conversation.note-added', 'note-1', 'agent-1', 'VIP: refund without asking']],
      );
    });

    it("stores an agent's attachment for the conversation's customer, gives it back to the tenant only, and refuses what is too large or of another type", async () => {
      const md = await bearer('brand-a');
      const pdf = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(300 * 1024, 7)]);
      const { attachment } = await rpc<{ attachment: { ref: string; mime_type: string; size_bytes: number; name: string } }>(
        client,
        'UploadAttachment',
        { conversation_id: 'conv-1', name: 'label.pdf', mime_type: 'application/pdf', data: pdf },
        md,
      );
      assert.match(attachment.ref, /^blob:[A-Za-z0-9_-]{22}$/);
      assert.deepEqual([attachment.mime_type, attachment.size_bytes, attachment.name], ['application/pdf', pdf.length, 'label.pdf']);
      const got = await rpc<{ attachment: { name: string }; data: Buffer }>(client, 'GetAttachment', { ref: attachment.ref }, md);
      assert.ok(Buffer.from(got.data).equals(pdf));
      await assert.rejects(rpc(client, 'GetAttachment', { ref: attachment.ref }, await bearer('brand-b')), (e: ServiceError) => e.code === status.NOT_FOUND);
      await assert.rejects(
        rpc(client, 'UploadAttachment', { conversation_id: 'conv-1', name: 'x.exe', mime_type: 'application/x-msdownload', data: Buffer.from('MZ') }, md),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'mime_type'),
      );
      await assert.rejects(
        rpc(client, 'UploadAttachment', { conversation_id: 'conv-1', name: 'big.png', mime_type: 'image/png', data: Buffer.alloc(10 * 1024 * 1024 + 1) }, md),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'data'),
      );
      // Sent as it came back: the reply carries it.
      await rpc(client, 'SendMessage', { conversation_id: 'conv-1', message_id: 'with-label', text: 'your return label', attachments: [attachment] }, md);
      const { conversation } = await rpc<{ conversation: { timeline: { message?: { id: string; attachments: { ref: string }[] } }[] } }>(
        client,
        'GetConversation',
        { conversation_id: 'conv-1' },
        md,
      );
      assert.deepEqual(
        conversation.timeline.find((t) => t.message?.id === 'with-label')!.message!.attachments.map((a) => a.ref),
        [attachment.ref],
      );
    });

    it("continues the caller's W3C trace (traceparent metadata) into the events it writes", async () => {
      const md = await bearer('brand-a');
      md.set('traceparent', '00-a1b2c3d4e5f60718293a4b5c6d7e8f90-0102030405060708-01');
      await rpc(client, 'SendMessage', { conversation_id: 'conv-1', message_id: 'traced-reply', text: 'traced' }, md);
      const events = await seed.log.readStream(conversationStream('brand-a', 'conv-1'));
      const sent = events.find((e) => (e.data as { messageId?: string }).messageId === 'traced-reply')!;
      assert.match(String(sent.metadata['traceparent']), /^00-a1b2c3d4e5f60718293a4b5c6d7e8f90-(?!0102030405060708)[0-9a-f]{16}-01$/);
    });

    it('refuses a free-form WhatsApp reply after 24 hours with FAILED_PRECONDITION, and takes a template', async () => {
      const md = await bearer('brand-a');
      await assert.rejects(rpc(client, 'SendMessage', { conversation_id: 'conv-old', message_id: 'late', text: 'sorry' }, md), (e: ServiceError) => {
        assert.equal(e.code, status.FAILED_PRECONDITION);
        assert.equal(e.metadata.get('parley-error-code')[0], 'CHANNEL_WINDOW_CLOSED');
        return true;
      });
      const ok = await rpc<{ channel: string }>(
        client,
        'SendMessage',
        { conversation_id: 'conv-old', message_id: 'late-template', template: { name: 'follow_up', language: 'en', parameters: ['x'] } },
        md,
      );
      assert.equal(ok.channel, 'CHANNEL_WHATSAPP');
    });

    it('edits and deletes, resolves, records satisfaction, reopens, snoozes, tags and sets priority', async () => {
      const md = await bearer('brand-a', 'supervisor');
      await rpc(client, 'SendMessage', { conversation_id: 'conv-1', message_id: 'reply-2', text: 'typo' }, md);
      await rpc(client, 'EditMessage', { conversation_id: 'conv-1', message_id: 'reply-2', text: 'fixed' }, md);
      await rpc(client, 'SendMessage', { conversation_id: 'conv-1', message_id: 'reply-3', text: 'oops' }, md);
      await rpc(client, 'DeleteMessage', { conversation_id: 'conv-1', message_id: 'reply-3' }, md);
      await rpc(client, 'TagConversation', { conversation_id: 'conv-1', add: ['vip', 'billing'], remove: [] }, md);
      await rpc(client, 'TagConversation', { conversation_id: 'conv-1', add: [], remove: ['billing'] }, md);
      await rpc(client, 'SetPriority', { conversation_id: 'conv-1', priority: 7 }, md);
      await rpc(client, 'ResolveConversation', { conversation_id: 'conv-1' }, md);
      await rpc(client, 'RecordSatisfaction', { conversation_id: 'conv-1', score: 5, comment: 'great' }, md);
      let { conversation } = await rpc<{
        conversation: Record<string, unknown> & { timeline: { message?: { id: string; text: string; edited: boolean; deleted: boolean } }[] };
      }>(client, 'GetConversation', { conversation_id: 'conv-1' }, md);
      assert.equal(conversation['status'], 'CONVERSATION_STATUS_RESOLVED');
      assert.deepEqual(conversation['tags'], ['vip']);
      assert.equal(conversation['priority'], 7);
      assert.equal(conversation['satisfaction'], 5);
      const byId = new Map(conversation.timeline.filter((t) => t.message).map((t) => [t.message!.id, t.message!]));
      assert.equal(byId.get('reply-2')!.text, 'fixed');
      assert.equal(byId.get('reply-2')!.edited, true);
      assert.equal(byId.get('reply-3')!.deleted, true);
      assert.equal(byId.get('reply-3')!.text, '');
      await rpc(client, 'ReopenConversation', { conversation_id: 'conv-1' }, md);
      await rpc(client, 'SnoozeConversation', { conversation_id: 'conv-1', until: { seconds: Math.floor(Date.now() / 1000) + 3600, nanos: 0 } }, md);
      ({ conversation } = await rpc(client, 'GetConversation', { conversation_id: 'conv-1' }, md));
      assert.equal(conversation['status'], 'CONVERSATION_STATUS_SNOOZED');
    });

    it('counts what it wrote, once: first responses by channel, the resolution with its time, the reopening', async () => {
      const values = async (name: string) =>
        (await registry.getSingleMetric(name)!.get()).values as { value: number; labels: Record<string, string | number>; metricName?: string }[];
      const firstResponses = await values('parley_conversation_first_response_seconds');
      const count = firstResponses.find(
        (v) => v.metricName === 'parley_conversation_first_response_seconds_count' && v.labels['channel'] === 'whatsapp',
      )!.value;
      const sum = firstResponses.find((v) => v.metricName === 'parley_conversation_first_response_seconds_sum' && v.labels['channel'] === 'whatsapp')!.value;
      // conv-1's first reply (waiting 3 hours) and conv-old's template (48 hours); the later replies and the idempotent resend are not first responses.
      assert.equal(count, 2);
      assert.ok(Math.abs(sum - (3 + 48) * 3600) < 120, `sum ${sum}`);
      assert.deepEqual(
        (await values('parley_conversations_resolved_total')).map((v) => v.value),
        [1],
      );
      const resolution = await values('parley_conversation_resolution_seconds');
      assert.ok(Math.abs(resolution.find((v) => v.metricName?.endsWith('_sum'))!.value - 3 * 3600) < 120);
      assert.deepEqual(
        (await values('parley_conversations_reopened_total')).map((v) => [v.labels['reason'], v.value]),
        [['agent', 1]],
      );
    });

    it('travels in time: the conversation as it stood before the reply', async () => {
      const { conversation } = await rpc<{ conversation: { timeline: { message?: { id: string } }[]; version: number } }>(
        client,
        'GetConversationAt',
        { conversation_id: 'conv-1', at: { seconds: Math.floor(Date.parse(hoursAgo(2)) / 1000), nanos: 0 } },
        await bearer('brand-a'),
      );
      assert.deepEqual(
        conversation.timeline.filter((t) => t.message).map((t) => t.message!.id),
        ['m1'],
      );
      assert.equal(conversation.version, 2);
    });

    it('answers bad input with INVALID_ARGUMENT and field violations', async () => {
      await assert.rejects(rpc(client, 'GetConversation', { conversation_id: 'not valid!' }, await bearer('brand-a')), (e: ServiceError) => {
        assert.equal(e.code, status.INVALID_ARGUMENT);
        assert.equal(fieldViolationsOf(e)[0]?.field, 'conversation_id');
        return true;
      });
      await assert.rejects(
        rpc(client, 'SetPriority', { conversation_id: 'conv-1', priority: 11 }, await bearer('brand-a')),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
      );
    });

    it("streams the tenant's events, resumes after a disconnect without loss or repeat, and goes on live", async () => {
      await seed.store.handle(
        conversationStream('brand-b', 'conv-b'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-b',
          customerId: 'cust-b',
          messageId: 'b1',
          channel: 'web',
          channelMessageId: 'wb1',
          text: 'other brand',
          at: hoursAgo(1),
        },
        { tenantId: 'brand-b', metadata: { subjectId: 'cust-b' } },
      );
      const Events = parleyService('EventService');
      const events = new Events(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
      const md = await bearer('brand-a', 'integration');
      const subscribe = (after: number, until: (got: { position: number; stream_id: string; type: string; data_json: string }[]) => boolean) =>
        new Promise<{ position: number; stream_id: string; type: string; data_json: string }[]>((resolve, reject) => {
          const got: { position: number; stream_id: string; type: string; data_json: string }[] = [];
          const stream = (events as unknown as { Subscribe: (r: unknown, m: Metadata) => NodeJS.ReadableStream & { cancel(): void } }).Subscribe(
            { after_position: after, types: [] },
            md,
          );
          stream.on('data', (m: { position: number; stream_id: string; type: string; data_json: string }) => {
            got.push(m);
            if (until(got)) {
              stream.cancel();
              resolve([...got]);
            }
          });
          stream.on('error', (e: ServiceError) => (e.code === status.CANCELLED ? undefined : reject(e)));
        });
      const total = await seed.log.readAll({ after: 0, limit: 10_000 });
      const mine = total.events.filter((e) => e.tenantId === 'brand-a');
      // First connection: drop after three events.
      const first = await subscribe(0, (got) => got.length === 3);
      // Reconnect from the last position handled, and let a new event arrive live.
      const resumed = subscribe(first.at(-1)!.position, (got) => got.some((g) => g.stream_id === conversationStream('brand-a', 'conv-live')));
      await seed.store.handle(
        conversationStream('brand-a', 'conv-live'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-live',
          customerId: 'cust-1',
          messageId: 'l1',
          channel: 'web',
          channelMessageId: 'wl1',
          text: 'live',
          at: new Date().toISOString(),
        },
        { tenantId: 'brand-a', metadata: { subjectId: 'cust-1' } },
      );
      const rest = await resumed;
      const all = [...first, ...rest];
      const positions = all.map((g) => g.position);
      assert.deepEqual(
        positions,
        [...new Set(positions)].sort((a, b) => a - b),
        'no repeats, in order',
      );
      assert.deepEqual(
        all.slice(0, mine.length).map((g) => g.position),
        mine.map((e) => e.position),
        'nothing lost across the disconnect',
      );
      assert.ok(
        all.every((g) => !g.stream_id.startsWith('conversation-brand-b')),
        "no other tenant's events",
      );
      assert.equal(JSON.parse(all.find((g) => g.type === 'conversation.message-received')!.data_json).text, 'hello from the site');
      events.close();
    });

    it("lists conversations newest activity first, page by page, filtered, and only the caller's tenant's", async () => {
      for (let i = 0; i < 5; i++) {
        await seed.store.handle(
          conversationStream('brand-a', `list-${i}`),
          {
            type: 'ReceiveMessage',
            conversationId: `list-${i}`,
            customerId: 'cust-list',
            messageId: 'm',
            channel: 'web',
            channelMessageId: `l${i}`,
            text: 'x',
            at: hoursAgo(10 - i),
          },
          { tenantId: 'brand-a', metadata: { subjectId: 'cust-list' } },
        );
      }
      await rpc(client, 'ResolveConversation', { conversation_id: 'list-4' }, await bearer('brand-a'));
      const md = await bearer('brand-a');
      type Page = { conversations: { id: string; status: string }[]; next_page_token: string };
      const listAll = async (request: Record<string, unknown>) => {
        const ids: string[] = [];
        let token = '';
        do {
          const page = await rpc<Page>(client, 'ListConversations', { ...request, page_size: 2, page_token: token }, md);
          ids.push(...page.conversations.map((c) => c.id));
          token = page.next_page_token;
        } while (token);
        return ids;
      };
      await waitFor(
        () => listAll({ customer_id: 'cust-list' }),
        (ids) => ids.length === 5,
        { what: 'the list projection' },
      );
      await waitFor(
        () => listAll({ customer_id: 'cust-list', statuses: ['CONVERSATION_STATUS_RESOLVED'] }),
        (ids) => ids.length === 1,
        { what: 'the resolution in the list' },
      );
      assert.deepEqual(await listAll({ customer_id: 'cust-list' }), ['list-4', 'list-3', 'list-2', 'list-1', 'list-0']);
      assert.deepEqual(await listAll({ customer_id: 'cust-list', statuses: ['CONVERSATION_STATUS_OPEN'] }), ['list-3', 'list-2', 'list-1', 'list-0']);
      // brand-b has exactly one conversation of its own (the feed test writes the same one; a redelivery adds nothing).
      await seed.store.handle(
        conversationStream('brand-b', 'conv-b'),
        {
          type: 'ReceiveMessage',
          conversationId: 'conv-b',
          customerId: 'cust-b',
          messageId: 'b1',
          channel: 'web',
          channelMessageId: 'wb1',
          text: 'other brand',
          at: hoursAgo(1),
        },
        { tenantId: 'brand-b', metadata: { subjectId: 'cust-b' } },
      );
      await waitFor(
        async () => (await rpc<Page>(client, 'ListConversations', { page_size: 500 }, await bearer('brand-b'))).conversations.map((c) => c.id),
        (ids) => ids.length > 0,
        { what: 'brand-b list' },
      );
      assert.deepEqual(
        (await rpc<Page>(client, 'ListConversations', { page_size: 500 }, await bearer('brand-b'))).conversations.map((c) => c.id),
        ['conv-b'],
        'another tenant sees only its own',
      );

      await assert.rejects(rpc(client, 'ListConversations', { page_size: 501 }, md), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
      await assert.rejects(rpc(client, 'ListConversations', { page_token: 'not-a-token' }, md), (e: ServiceError) => e.code === status.INVALID_ARGUMENT);
    });

    it("never shows or changes another tenant's conversation: every method answers NOT_FOUND", async () => {
      const other = await bearer('brand-b', 'admin');
      const before = await seed.log.streamVersion(conversationStream('brand-a', 'conv-1'));
      const now = { seconds: Math.floor(Date.now() / 1000), nanos: 0 };
      const calls: [string, Record<string, unknown>][] = [
        ['GetConversation', {}],
        ['GetConversationAt', { at: now }],
        ['SendMessage', { message_id: 'x', text: 'hi' }],
        ['EditMessage', { message_id: 'reply-1', text: 'x' }],
        ['DeleteMessage', { message_id: 'reply-1' }],
        ['ResolveConversation', {}],
        ['ReopenConversation', {}],
        ['SnoozeConversation', {}],
        ['TagConversation', { add: ['x'] }],
        ['SetPriority', { priority: 1 }],
        ['RecordSatisfaction', { score: 1 }],
      ];
      for (const [method, extra] of calls) {
        await assert.rejects(rpc(client, method, { conversation_id: 'conv-1', ...extra }, other), (e: ServiceError) => e.code === status.NOT_FOUND, method);
      }
      assert.equal(await seed.log.streamVersion(conversationStream('brand-a', 'conv-1')), before);
    });
  });
}
