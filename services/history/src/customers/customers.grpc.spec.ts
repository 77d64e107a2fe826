import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { fieldViolationsOf, parleyService } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';
import { conversationStream } from '../conversations/conversations.grpc';
import type { RunningHistory } from '../history.app';
import { bearer, ferretBackend, hoursAgo, rpc, sqliteBackend, type Backend, type Seed, startTestHistory } from '../testing/history.fixture';
import { customerStream } from './customers.grpc';

const IDENTITY_SECRET = 'brand-a-identity-secret-32-bytes-long!!';
type Customer = {
  channels: string[];
  conversations: { id: string; status: string }[];
  id: string;
  identities: { kind: string; id: string }[];
  attributes: { fields: Record<string, { stringValue?: string; numberValue?: number; structValue?: unknown }> };
  conversation_ids: string[];
  merged_into: string;
  erased: boolean;
};

for (const [name, make] of [
  ['SQLite', sqliteBackend],
  ['FerretDB', ferretBackend],
] as const) {
  describe(`history: CustomerService over gRPC (${name})`, () => {
    let backend: Backend;
    let running: RunningHistory;
    let client: Client;
    let conversations: Client;
    let seed: Seed;
    const register = async (tenant: string, id: string, identity: { kind: 'visitor' | 'whatsapp'; id: string }, conversation: string) => {
      const envelope = { tenantId: tenant, metadata: { subjectId: id } };
      await seed.customers.handle(customerStream(tenant, id), { type: 'Register', customerId: id, at: hoursAgo(5) }, envelope);
      await seed.directory.link({ tenantId: tenant, actor: 'test' }, id, identity, identity.kind === 'visitor' ? 'anonymous' : 'channel', hoursAgo(5));
      await seed.customers.handle(customerStream(tenant, id), { type: 'AttachConversation', conversationId: conversation, at: hoursAgo(5) }, envelope);
      await seed.store.handle(
        conversationStream(tenant, conversation),
        {
          type: 'ReceiveMessage',
          conversationId: conversation,
          customerId: id,
          messageId: 'm1',
          channel: identity.kind === 'visitor' ? 'web' : 'whatsapp',
          channelMessageId: `${conversation}-1`,
          text: `message from ${id}`,
          at: hoursAgo(2),
        },
        envelope,
      );
    };

    before(async () => {
      backend = make();
      running = await startTestHistory(backend, { PARLEY_IDENTITY_SECRETS: `brand-a:${IDENTITY_SECRET}` });
      client = new (parleyService('CustomerService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
      conversations = new (parleyService('ConversationService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());
      seed = await backend.seed();
      await register('brand-a', 'web-visitor', { kind: 'visitor', id: 'v-1' }, 'conv-web');
      await register('brand-a', 'wa-user', { kind: 'whatsapp', id: 'US.1234' }, 'conv-wa');
    });
    after(async () => {
      client.close();
      conversations.close();
      await seed.close();
      await running.close();
      await backend.cleanup();
    });

    it("links the brand's user id only with the brand's signature, sets attributes, and reads the customer back", async () => {
      const md = await bearer('brand-a');
      await assert.rejects(
        rpc(client, 'LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'external', id: 'user-42' }, proof: '' }, md),
        (e: ServiceError) => e.code === status.UNAUTHENTICATED,
      );
      const forged = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject('user-42')
        .sign(new TextEncoder().encode('not-the-brands-secret-of-32-bytes!!'));
      await assert.rejects(
        rpc(client, 'LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'external', id: 'user-42' }, proof: forged }, md),
        (e: ServiceError) => e.code === status.UNAUTHENTICATED,
      );
      const proof = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('user-42').sign(new TextEncoder().encode(IDENTITY_SECRET));
      await rpc(client, 'LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'external', id: 'user-42' }, proof }, md);
      await rpc(
        client,
        'SetAttributes',
        { customer_id: 'web-visitor', attributes: { fields: { name: { stringValue: 'Ada' }, orders: { numberValue: 3 } } } },
        md,
      );
      const { customer } = await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'web-visitor' }, md);
      assert.deepEqual(
        customer.identities.map((i) => `${i.kind}:${i.id}`),
        ['visitor:v-1', 'external:user-42'],
      );
      assert.equal(customer.attributes.fields['name']?.stringValue, 'Ada');
      assert.equal(customer.attributes.fields['orders']?.numberValue, 3);
      await rpc(client, 'UnlinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'visitor', id: 'v-1' } }, md);
      const after = await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'web-visitor' }, md);
      assert.deepEqual(
        after.customer.identities.map((i) => i.kind),
        ['external'],
      );
      await assert.rejects(
        rpc(client, 'LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'email', id: 'not an email' } }, md),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
      );
    });

    it('finds the customer behind an identity, and never lets two customers hold the same one', async () => {
      const md = await bearer('brand-a');
      const found = await rpc<{ customer: Customer }>(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.1234' } }, md);
      assert.equal(found.customer.id, 'wa-user');
      await assert.rejects(
        rpc(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.1234' } }, await bearer('brand-b')),
        (e: ServiceError) => e.code === status.NOT_FOUND,
        'another tenant',
      );
      await assert.rejects(
        rpc(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.nobody' } }, md),
        (e: ServiceError) => e.code === status.NOT_FOUND,
      );
      const before = await seed.log.streamVersion(customerStream('brand-a', 'web-visitor'));
      await assert.rejects(
        rpc(client, 'LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'whatsapp', id: 'US.1234' } }, md),
        (e: ServiceError) => {
          assert.equal(e.code, status.FAILED_PRECONDITION);
          assert.equal(e.metadata.get('parley-error-code')[0], 'IDENTITY_TAKEN');
          return true;
        },
      );
      assert.equal(await seed.log.streamVersion(customerStream('brand-a', 'web-visitor')), before, 'nothing changed');
    });

    it("shows the customer's channels and conversations with their state", async () => {
      // Conversations come from the list read model, which follows the log: the seed shows within moments.
      const md = await bearer('brand-a');
      const customer = await waitFor(
        async () => (await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'wa-user' }, md)).customer,
        (c) => c.conversations.length > 0,
        { what: "the customer's conversation in the list" },
      );
      assert.deepEqual(customer.channels, ['CHANNEL_WHATSAPP']);
      assert.deepEqual(
        customer.conversations.map((c) => [c.id, c.status]),
        [['conv-wa', 'CONVERSATION_STATUS_OPEN']],
      );
    });

    it('merges the WhatsApp customer into the web one, so the agent sees one customer; unmerge gives each its own back', async () => {
      const agent = await bearer('brand-a', 'agent');
      const supervisor = await bearer('brand-a', 'supervisor');
      await assert.rejects(
        rpc(client, 'MergeCustomers', { survivor_customer_id: 'web-visitor', absorbed_customer_id: 'wa-user' }, agent),
        (e: ServiceError) => e.code === status.PERMISSION_DENIED,
      );
      const merged = await rpc<{ customer: Customer }>(
        client,
        'MergeCustomers',
        { survivor_customer_id: 'web-visitor', absorbed_customer_id: 'wa-user' },
        supervisor,
      );
      assert.deepEqual(merged.customer.conversation_ids.sort(), ['conv-wa', 'conv-web']);
      assert.ok(merged.customer.identities.some((i) => i.kind === 'whatsapp'));
      assert.equal((await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'wa-user' }, agent)).customer.merged_into, 'web-visitor');
      assert.equal(
        (await rpc<{ customer: Customer }>(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.1234' } }, agent)).customer.id,
        'web-visitor',
        'found through the merge',
      );
      await rpc(client, 'UnmergeCustomer', { absorbed_customer_id: 'wa-user' }, supervisor);
      assert.deepEqual((await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'web-visitor' }, agent)).customer.conversation_ids, [
        'conv-web',
      ]);
      const restored = (await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'wa-user' }, agent)).customer;
      assert.equal(restored.merged_into, '');
      assert.deepEqual(restored.conversation_ids, ['conv-wa']);
      assert.equal(
        (await rpc<{ customer: Customer }>(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.1234' } }, agent)).customer.id,
        'wa-user',
      );
    });

    it('exports everything about a customer, and erases them: personal data unreadable, the conversation and its timing kept', async () => {
      const supervisor = await bearer('brand-a', 'supervisor');
      const exported = await rpc<{ customer: Customer; conversations: { id: string; timeline: { message?: { text: string } }[] }[] }>(
        client,
        'ExportCustomer',
        { customer_id: 'wa-user' },
        supervisor,
      );
      assert.equal(exported.conversations.length, 1);
      assert.equal(exported.conversations[0]!.timeline.find((t) => t.message)?.message?.text, 'message from wa-user');

      const search = async () =>
        (await rpc<{ conversations: { id: string }[] }>(conversations, 'SearchConversations', { query: 'wa user' }, supervisor)).conversations.map((c) => c.id);
      await waitFor(search, (ids) => ids.length === 1, { what: 'the search index' });
      assert.deepEqual(await search(), ['conv-wa']);
      // Shown to an agent before (the service keeps that page encoded): the erasure must reach it too.
      const shown = async () =>
        (
          await rpc<{ conversation: { timeline: { message?: { text: string } }[] } }>(
            conversations,
            'GetConversation',
            { conversation_id: 'conv-wa' },
            supervisor,
          )
        ).conversation.timeline.find((t) => t.message)?.message?.text;
      await waitFor(shown, (text) => text === 'message from wa-user', { what: 'the conversation as an agent sees it' });
      assert.equal(await shown(), 'message from wa-user');
      await assert.rejects(
        rpc(client, 'EraseCustomer', { customer_id: 'wa-user' }, supervisor),
        (e: ServiceError) => e.code === status.PERMISSION_DENIED,
        'only admins erase',
      );
      const uploaded = await rpc<{ attachment: { ref: string } }>(
        conversations,
        'UploadAttachment',
        { conversation_id: 'conv-wa', name: 'invoice.pdf', mime_type: 'application/pdf', data: Buffer.from('%PDF-1.7 invoice') },
        supervisor,
      );
      await rpc(client, 'EraseCustomer', { customer_id: 'wa-user' }, await bearer('brand-a', 'admin'));
      await assert.rejects(
        rpc(conversations, 'GetAttachment', { ref: uploaded.attachment.ref }, supervisor),
        (e: ServiceError) => e.code === status.NOT_FOUND,
        "the customer's attachments are deleted with them",
      );
      const { conversation } = await rpc<{ conversation: { timeline: { at: unknown; message?: { text: string; erased: boolean } }[] } }>(
        conversations,
        'GetConversation',
        { conversation_id: 'conv-wa' },
        supervisor,
      );
      const message = conversation.timeline.find((t) => t.message)!;
      assert.equal(message.message!.erased, true);
      assert.equal(message.message!.text, '');
      assert.ok(message.at, 'the timing survives');
      assert.equal((await rpc<{ customer: Customer }>(client, 'GetCustomer', { customer_id: 'wa-user' }, supervisor)).customer.erased, true);
      await assert.rejects(
        rpc(client, 'FindCustomer', { identity: { kind: 'whatsapp', id: 'US.1234' } }, supervisor),
        (e: ServiceError) => e.code === status.NOT_FOUND,
        'the identity is free again',
      );
      await waitFor(search, (ids) => ids.length === 0, { what: 'the erased words leaving the index' });
    });

    it("takes the brand's systems' profile and orders by an identity they know, registering the customer once, each change once", async () => {
      const shop = await bearer('brand-a', 'integration', 'shop');
      const identity = { kind: 'email', id: 'ana@example.com' };
      const first = await rpc<{
        customer: Customer & { profile: { name: string; tier: string; attributes: Customer['attributes'] } };
        created: boolean;
        changed: boolean;
      }>(
        client,
        'UpdateCustomerProfile',
        { identity, profile: { name: 'Ana Lima', tier: 'gold', attributes: { fields: { plan: { stringValue: 'pro' }, seats: { numberValue: 5 } } } } },
        shop,
      );
      assert.deepEqual([first.created, first.changed, first.customer.profile.name, first.customer.profile.tier], [true, true, 'Ana Lima', 'gold']);
      assert.deepEqual(first.customer.identities, [{ kind: 'email', id: 'ana@example.com', wa_id: '' }]);
      const again = await rpc<{ customer: { id: string }; created: boolean; changed: boolean }>(
        client,
        'UpdateCustomerProfile',
        { identity, profile: { name: 'Ana Lima' } },
        shop,
      );
      assert.deepEqual([again.customer.id, again.created, again.changed], [first.customer.id, false, false]);
      const order = {
        order_id: 'A-1001',
        placed_at: { seconds: 1_780_000_000 },
        status: 'ORDER_STATUS_PAID',
        // An item with neither SKU nor price: optional fields leave no key in the event.
        items: [
          { sku: 'TSHIRT-M', name: 'T-shirt, M', quantity: 2, unit_price: { amount_minor: 1999, currency: 'EUR' } },
          { name: 'Sticker', quantity: 1 },
        ],
        total: { amount_minor: 3998, currency: 'EUR' },
        url: 'https://shop.example/orders/A-1001',
      };
      const recorded = await rpc<{ customer_id: string; created: boolean; changed: boolean }>(client, 'RecordCustomerOrder', { identity, order }, shop);
      assert.deepEqual(recorded, { customer_id: first.customer.id, created: false, changed: true });
      const repeat = await rpc<{ changed: boolean }>(client, 'RecordCustomerOrder', { identity, order }, shop);
      assert.equal(repeat.changed, false);
      const shipped = await rpc<{ changed: boolean }>(client, 'RecordCustomerOrder', { identity, order: { ...order, status: 'ORDER_STATUS_SHIPPED' } }, shop);
      assert.equal(shipped.changed, true);
      const stream = customerStream('brand-a', first.customer.id);
      assert.deepEqual(
        (await seed.log.readStream(stream)).filter((e) => e.type === 'customer.order-recorded').map((e) => (e.data as { status: string }).status),
        ['paid', 'shipped'],
      );
      // Bad input: the field is named, nothing is written, nobody is registered.
      const before = await seed.log.lastPosition();
      const refusals: [string, Record<string, unknown>, RegExp][] = [
        ['UpdateCustomerProfile', { identity, profile: { locale: 'not a locale!' } }, /profile\.locale/],
        ['UpdateCustomerProfile', { identity: { kind: 'whatsapp', id: 'US.1' }, profile: { name: 'X' } }, /identity/],
        [
          'RecordCustomerOrder',
          { identity: { kind: 'email', id: 'new@example.com' }, order: { ...order, total: { amount_minor: 1, currency: 'euro' } } },
          /order\.total\.currency/,
        ],
        ['RecordCustomerOrder', { identity, order: { ...order, status: 'ORDER_STATUS_UNSPECIFIED' } }, /order\.status/],
      ];
      for (const [method, request, field] of refusals)
        await assert.rejects(
          rpc(client, method, request, shop),
          (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => field.test(v.field)),
          method,
        );
      assert.equal(await seed.log.lastPosition(), before);
      // Agents read it; only the brand's systems and admins write it.
      await assert.rejects(
        rpc(client, 'UpdateCustomerProfile', { identity, profile: { tier: 'platinum' } }, await bearer('brand-a')),
        (e: ServiceError) => e.code === status.PERMISSION_DENIED,
      );
      const { customer } = await rpc<{ customer: { profile: { name: string } } }>(
        client,
        'GetCustomer',
        { customer_id: first.customer.id },
        await bearer('brand-a'),
      );
      assert.equal(customer.profile.name, 'Ana Lima');
    });

    it('shows an agent the latest orders, pages through all of them, carries them and the profile through a merge and back, exports every status', async () => {
      const shop = await bearer('brand-a', 'integration', 'shop');
      const supervisor = await bearer('brand-a', 'supervisor');
      const agent = await bearer('brand-a');
      const carla = { kind: 'external', id: 'crm-carla' };
      const carlaOld = { kind: 'email', id: 'carla.old@example.com' };
      const order = (id: string, day: number, status = 'ORDER_STATUS_PLACED') => ({
        order_id: id,
        placed_at: { seconds: 1_780_000_000 + day * 86_400 },
        status,
        items: [{ name: `item of ${id}`, quantity: 1 }],
        total: { amount_minor: 1000 + day, currency: 'EUR' },
      });
      // Seven orders, one of them shipped later; the old account has two more and a profile of its own.
      for (let day = 1; day <= 7; day++) await rpc(client, 'RecordCustomerOrder', { identity: carla, order: order(`C-${day}`, day) }, shop);
      await rpc(client, 'RecordCustomerOrder', { identity: carla, order: order('C-3', 3, 'ORDER_STATUS_SHIPPED') }, shop);
      await rpc(client, 'UpdateCustomerProfile', { identity: carla, profile: { name: 'Carla Ruiz' } }, shop);
      await rpc(client, 'RecordCustomerOrder', { identity: carlaOld, order: order('OLD-1', 0) }, shop);
      await rpc(client, 'RecordCustomerOrder', { identity: carlaOld, order: order('OLD-2', 10) }, shop);
      await rpc(client, 'UpdateCustomerProfile', { identity: carlaOld, profile: { name: 'C. Ruiz', tier: 'gold' } }, shop);
      const carlaId = (await rpc<{ customer: { id: string } }>(client, 'FindCustomer', { identity: carla }, agent)).customer.id;
      const oldId = (await rpc<{ customer: { id: string } }>(client, 'FindCustomer', { identity: carlaOld }, agent)).customer.id;
      type Recorded = { order: { order_id: string; status: string; items: { name: string }[] }; customer_id: string };
      type Shown = { latest_orders: Recorded[]; profile: { name: string; tier: string } };
      const shown = await waitFor(
        async () => (await rpc<{ customer: Shown }>(client, 'GetCustomer', { customer_id: carlaId }, agent)).customer,
        (c) => c.latest_orders.length === 5 && c.latest_orders.some((o) => o.order.status === 'ORDER_STATUS_SHIPPED'),
        { what: 'the orders listed' },
      );
      assert.deepEqual(
        shown.latest_orders.map((o) => o.order.order_id),
        ['C-7', 'C-6', 'C-5', 'C-4', 'C-3'],
      );
      assert.equal(shown.latest_orders[4]!.order.items[0]!.name, 'item of C-3');
      const pages = async (customerId: string) => {
        const ids: string[][] = [];
        let token = '';
        do {
          const page = await rpc<{ orders: Recorded[]; next_page_token: string }>(
            client,
            'ListCustomerOrders',
            { customer_id: customerId, page_size: 3, page_token: token },
            agent,
          );
          ids.push(page.orders.map((o) => o.order.order_id));
          token = page.next_page_token;
        } while (token);
        return ids;
      };
      assert.deepEqual(await pages(carlaId), [['C-7', 'C-6', 'C-5'], ['C-4', 'C-3', 'C-2'], ['C-1']]);
      await assert.rejects(
        rpc(client, 'ListCustomerOrders', { customer_id: carlaId, page_size: 101 }, agent),
        (e: ServiceError) => e.code === status.INVALID_ARGUMENT && fieldViolationsOf(e).some((v) => v.field === 'page_size'),
      );
      // Merged: the old account's orders among hers, in order; its profile fills in what hers lacks.
      await waitFor(
        async () => (await pages(oldId)).flat(),
        (ids) => ids.length === 2,
        { what: "the old account's orders listed" },
      );
      await rpc(client, 'MergeCustomers', { survivor_customer_id: carlaId, absorbed_customer_id: oldId }, supervisor);
      assert.deepEqual(await pages(carlaId), [
        ['OLD-2', 'C-7', 'C-6'],
        ['C-5', 'C-4', 'C-3'],
        ['C-2', 'C-1', 'OLD-1'],
      ]);
      const merged = (await rpc<{ customer: Shown }>(client, 'GetCustomer', { customer_id: carlaId }, agent)).customer;
      assert.deepEqual([merged.profile.name, merged.profile.tier], ['Carla Ruiz', 'gold']);
      assert.equal(merged.latest_orders[0]!.customer_id, oldId);
      const exported = await rpc<{ orders: Recorded[] }>(client, 'ExportCustomer', { customer_id: carlaId }, supervisor);
      assert.equal(exported.orders.length, 10, 'nine orders, one of them with two statuses');
      assert.deepEqual(
        exported.orders.filter((o) => o.order.order_id === 'C-3').map((o) => o.order.status),
        ['ORDER_STATUS_PLACED', 'ORDER_STATUS_SHIPPED'],
      );
      // Unmerged: each has their own again.
      await rpc(client, 'UnmergeCustomer', { absorbed_customer_id: oldId }, supervisor);
      assert.deepEqual((await pages(carlaId)).flat(), ['C-7', 'C-6', 'C-5', 'C-4', 'C-3', 'C-2', 'C-1']);
      const after = (await rpc<{ customer: Shown }>(client, 'GetCustomer', { customer_id: carlaId }, agent)).customer;
      assert.deepEqual([after.profile.name, after.profile.tier], ['Carla Ruiz', '']);
    });

    it('shows the satisfaction the customer gave each conversation', async () => {
      await register('brand-a', 'sat-customer', { kind: 'visitor', id: 'v-sat' }, 'conv-sat');
      const stream = conversationStream('brand-a', 'conv-sat');
      const envelope = { tenantId: 'brand-a', metadata: { subjectId: 'sat-customer' } };
      await seed.store.handle(stream, { type: 'Resolve', by: { kind: 'agent', agentId: 'agent-1' }, at: hoursAgo(1) }, envelope);
      await seed.store.handle(stream, { type: 'RecordSatisfaction', score: 4, at: hoursAgo(1) }, envelope);
      const customer = await waitFor(
        async () =>
          (
            await rpc<{ customer: Customer & { conversations: { satisfaction: number }[] } }>(
              client,
              'GetCustomer',
              { customer_id: 'sat-customer' },
              await bearer('brand-a'),
            )
          ).customer,
        (c) => c.conversations[0]?.satisfaction === 4,
        { what: 'the satisfaction shown' },
      );
      assert.deepEqual(
        customer.conversations.map((c) => [c.id, c.status]),
        [['conv-sat', 'CONVERSATION_STATUS_RESOLVED']],
      );
    });

    it("never shows or changes another tenant's customer: every method answers NOT_FOUND", async () => {
      const other = await bearer('brand-b', 'admin');
      const before = await seed.log.streamVersion(customerStream('brand-a', 'web-visitor'));
      const calls: [string, Record<string, unknown>][] = [
        ['GetCustomer', { customer_id: 'web-visitor' }],
        ['FindCustomer', { identity: { kind: 'external', id: 'user-42' } }],
        ['LinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'visitor', id: 'x' } }],
        ['UnlinkIdentity', { customer_id: 'web-visitor', identity: { kind: 'visitor', id: 'v-1' } }],
        ['SetAttributes', { customer_id: 'web-visitor', attributes: { fields: { a: { stringValue: 'b' } } } }],
        ['MergeCustomers', { survivor_customer_id: 'web-visitor', absorbed_customer_id: 'wa-user' }],
        ['UnmergeCustomer', { absorbed_customer_id: 'wa-user' }],
        ['ExportCustomer', { customer_id: 'web-visitor' }],
        ['EraseCustomer', { customer_id: 'web-visitor' }],
      ];
      for (const [method, request] of calls)
        await assert.rejects(rpc(client, method, request, other), (e: ServiceError) => e.code === status.NOT_FOUND, method);
      assert.equal(await seed.log.streamVersion(customerStream('brand-a', 'web-visitor')), before);
    });
  });
}
