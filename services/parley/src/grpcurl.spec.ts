import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { PROTO_ROOT } from '@parley/grpc-edge';
import { waitFor } from '@parley/testing-support';
import { SignJWT } from 'jose';
import WebSocket from 'ws';
import { startEmbedded, type EmbeddedParley } from './testing/embedded.process';
import { grpcurl, invoke } from './testing/grpcurl.client';

/** The methods each public service has, read from the .proto files themselves. */
function protoMethods(): Map<string, string[]> {
  const services = new Map<string, string[]>();
  for (const file of ['conversations', 'customers', 'events', 'availability', 'routing', 'canned_responses']) {
    const text = readFileSync(join(PROTO_ROOT, 'parley', 'v1', `${file}.proto`), 'utf8');
    for (const [, name, body] of text.matchAll(/^service (\w+) \{([\s\S]*?)^\}/gm))
      services.set(
        `parley.v1.${name}`,
        [...body!.matchAll(/^\s*rpc (\w+)\(/gm)].map((m) => m[1]!),
      );
  }
  return services;
}

/** The comment written above a method in the .proto file, as grpcurl describe prints it. */
function protoComment(method: string): string {
  for (const file of ['conversations', 'customers', 'events', 'availability', 'routing', 'canned_responses']) {
    const text = readFileSync(join(PROTO_ROOT, 'parley', 'v1', `${file}.proto`), 'utf8');
    const match = new RegExp(`((?:^\\s*//.*\\n)+)\\s*rpc ${method}\\(`, 'm').exec(text);
    if (match) return match[1]!.trim().split('\n')[0]!.trim();
  }
  throw new Error(`no comment above rpc ${method}`);
}

describe('the public gRPC API through grpcurl and server reflection (a client Parley did not write)', () => {
  let parley: EmbeddedParley;
  let api: string;
  let availability: string;
  let routing: string;
  let tokens: Record<string, string>;
  const invoked = new Set<string>();
  const call = async <T = Record<string, unknown>>(address: string, method: string, data: unknown, token: string): Promise<T> => {
    const answer = await invoke<T>(address, method, data, token);
    invoked.add(method.replace('/', '.'));
    return answer;
  };

  before(async () => {
    parley = await startEmbedded();
    api = parley.grpcAddress('gRPC API');
    availability = parley.grpcAddress('availability');
    routing = parley.grpcAddress('routing');
    const secret = readFileSync(join(parley.dataDir, 'token.secret'), 'utf8').trim().split(',')[0]!;
    const admin = await new SignJWT({ tenant: 'demo', role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('demo-admin')
      .setAudience('parley')
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(secret));
    tokens = { ...parley.tokens, admin };
  });
  after(() => parley.stop());

  it('lists on each port exactly the services that port serves', async () => {
    const listed = async (address: string) =>
      (await grpcurl(address, ['list'])).stdout
        .split('\n')
        .filter((s) => s && !s.startsWith('grpc.reflection.'))
        .sort();
    assert.deepEqual(await listed(api), [
      'grpc.health.v1.Health',
      'parley.v1.CannedResponseService',
      'parley.v1.ConversationService',
      'parley.v1.CustomerService',
      'parley.v1.EventService',
    ]);
    assert.deepEqual(await listed(availability), ['grpc.health.v1.Health', 'parley.v1.AvailabilityService']);
    assert.deepEqual(await listed(routing), ['grpc.health.v1.Health', 'parley.v1.RoutingService']);
  });

  it('describes every service with the comments of its .proto file, and the map and well-known types', async () => {
    const ports: Record<string, string> = { AvailabilityService: availability, RoutingService: routing };
    for (const [service, methods] of protoMethods()) {
      const described = await grpcurl(ports[service.replace('parley.v1.', '')] ?? api, ['describe', service]);
      assert.equal(described.exit, 0, `describe ${service}: ${described.stderr}`);
      for (const method of methods) {
        assert.match(described.stdout, new RegExp(`rpc ${method} \\(`), `${service} describes ${method}`);
        assert.ok(described.stdout.includes(protoComment(method)), `${service}.${method}'s comment shown: ${protoComment(method)}`);
      }
    }
    for (const type of ['google.protobuf.Struct', 'google.protobuf.Value', 'grpc.health.v1.HealthListResponse', 'parley.v1.EvaluatePageRequest']) {
      const described = await grpcurl(type.startsWith('parley.v1.E') ? availability : api, ['describe', type]);
      assert.equal(described.exit, 0, `describe ${type}: ${described.stderr}`);
    }
    assert.match((await grpcurl(api, ['describe', 'google.protobuf.Value'])).stdout, /bool bool_value = 4;/);
    assert.match(
      (await grpcurl(api, ['describe', 'grpc.health.v1.HealthListResponse'])).stdout,
      /map<string, \.grpc\.health\.v1\.HealthCheckResponse> statuses = 1;/,
    );
  });

  it('answers the health service, Check and List', async () => {
    for (const address of [api, availability, routing]) {
      assert.deepEqual(JSON.parse((await grpcurl(address, ['grpc.health.v1.Health/Check'])).stdout), { status: 'SERVING' });
      const list = JSON.parse((await grpcurl(address, ['grpc.health.v1.Health/List'])).stdout) as { statuses: Record<string, { status: string }> };
      assert.equal(list.statuses['']?.status, 'SERVING');
    }
  });

  it('ends a streaming call at once with its error status, never by the client deadline', async () => {
    const started = Date.now();
    const cases: [string, string, unknown, string | undefined, string][] = [
      [api, 'parley.v1.EventService/Subscribe', { after_position: 0 }, undefined, 'Unauthenticated'],
      [api, 'parley.v1.EventService/Subscribe', { after_position: 0 }, 'garbage', 'Unauthenticated'],
      [api, 'parley.v1.EventService/Subscribe', { after_position: 0 }, tokens['demo-agent-1'], 'PermissionDenied'],
      [api, 'parley.v1.EventService/Subscribe', { after_position: -1 }, tokens['supervisor'], 'InvalidArgument'],
      [availability, 'parley.v1.AvailabilityService/WatchAvailability', { queue_id: 'support' }, undefined, 'Unauthenticated'],
      [availability, 'parley.v1.AvailabilityService/WatchAvailability', { queue_id: 'support' }, 'garbage', 'Unauthenticated'],
      [availability, 'parley.v1.AvailabilityService/WatchAvailability', { queue_id: '' }, tokens['supervisor'], 'InvalidArgument'],
    ];
    for (const [address, method, data, token, code] of cases) {
      // A deadline far beyond the test's own: a call left open would show as DeadlineExceeded.
      const result = await grpcurl(address, [method], { data, ...(token ? { token } : {}), maxTimeSeconds: 60 });
      assert.equal(result.code, code, `${method} ${JSON.stringify(data)} with ${token ? 'a token' : 'no token'}: ${result.stderr}`);
    }
    assert.ok(Date.now() - started < 60_000, 'no call waited for its deadline');
  });

  it('invokes every method of every service, Struct and Value fields included', async () => {
    const [agent1, agent2, supervisor, admin] = [tokens['demo-agent-1']!, tokens['demo-agent-2']!, tokens['supervisor']!, tokens['admin']!];
    const A = 'parley.v1.AvailabilityService/';
    const C = 'parley.v1.ConversationService/';
    const U = 'parley.v1.CustomerService/';
    const R = 'parley.v1.RoutingService/';

    // Availability: open around the clock, so that nothing depends on when the test runs.
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({
      weekday,
      slots: [
        { from: '00:00', to: '12:00' },
        { from: '12:00', to: '00:00' },
      ],
    }));
    await call(availability, `${A}SetBusinessHours`, { queue_id: 'support', time_zone: 'Europe/Berlin', days }, supervisor);
    await call(availability, `${A}SetHoursException`, { queue_id: 'support', date: '2031-12-25', slots: [] }, supervisor);
    await call(availability, `${A}RemoveHoursException`, { queue_id: 'support', date: '2031-12-25' }, supervisor);
    await call(availability, `${A}SetQueueRequirements`, { queue_id: 'support', typical_response: '90s' }, supervisor);
    await call(availability, `${A}SetRoutingPolicy`, { queue_id: 'support', strategy: 'longest-idle', offer_timeout: '30s', sticky: '60s' }, supervisor);
    await call(availability, `${A}SetCapacity`, { agent_id: 'demo-agent-1', live_chats: 3, messaging: 10, languages: ['en'] }, supervisor);
    await call(
      availability,
      `${A}SetTargetingRules`,
      {
        rules: [{ rule_id: 'pricing-pro', url_pattern: '*/pricing*', attributes: { plan: 'pro' }, message: 'Questions about Pro?', queue_id: 'support' }],
        period: '3600s',
      },
      supervisor,
    );
    await call(availability, `${A}SetPresence`, { presence: 'PRESENCE_ONLINE' }, agent1);
    await call(availability, `${A}Heartbeat`, {}, agent1);
    const offer = await waitFor(
      () => call<{ offer: { liveChat?: boolean } }>(availability, `${A}GetAvailability`, { queue_id: 'support' }, supervisor),
      (o) => o.offer.liveChat === true,
      { what: 'live chat offered' },
    );
    assert.equal(offer.offer.liveChat, true);
    const watched = await grpcurl(availability, [`${A}WatchAvailability`], { data: { queue_id: 'support' }, token: agent1, maxTimeSeconds: 2 });
    assert.equal(watched.code, 'DeadlineExceeded', 'the watch stays open until the client leaves');
    assert.equal((JSON.parse(watched.stdout) as { offer: { queueId: string } }).offer.queueId, 'support');
    invoked.add('parley.v1.AvailabilityService.WatchAvailability');
    const page = await call<{ invitationRuleId: string }>(
      availability,
      `${A}EvaluatePage`,
      {
        visitor_id: 'v-grpcurl',
        queue_id: 'support',
        url: 'https://shop.example/pricing',
        time_on_page_seconds: 5,
        pages_viewed: 1,
        attributes: { plan: 'pro' },
      },
      supervisor,
    );
    assert.equal(page.invitationRuleId, 'pricing-pro', 'the map field reached the targeting rule');
    await call(availability, `${A}AnswerInvitation`, { visitor_id: 'v-grpcurl', rule_id: 'pricing-pro', accepted: true }, supervisor);

    // Routing rules, a map field among them; every conversation below still goes to support.
    const rules = [{ rule_id: 'pro-plan', queue_id: 'support', channels: ['web', 'whatsapp'], languages: ['en'], attributes: { plan: 'pro' }, skills: [] }];
    assert.deepEqual(await call(routing, `${R}SetRoutingRules`, { rules, default_queue_id: 'support' }, supervisor), { changed: true });
    const read = await call<{ rules: { ruleId: string; attributes: Record<string, string>; channels: string[] }[]; defaultQueueId: string }>(
      routing,
      `${R}GetRoutingRules`,
      {},
      agent1,
    );
    assert.equal(read.defaultQueueId, 'support');
    assert.deepEqual(read.rules[0]!.attributes, { plan: 'pro' });
    assert.deepEqual(read.rules[0]!.channels, ['web', 'whatsapp']);

    // Two visitors write; routing offers both to the one agent online.
    const visitorWrites = async (text: string) => {
      const { token } = (await (
        await fetch(`${parley.channels}/live/visitors`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tenant: 'demo' }),
        })
      ).json()) as { token: string };
      const ws = new WebSocket(`${parley.channels.replace('http', 'ws')}/live?token=${token}`);
      await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
      ws.send(JSON.stringify({ type: 'message', id: `m-${text.length}`, text }));
      return ws;
    };
    const offers = async (token: string) =>
      (await call<{ offers?: { offerId: string; conversationId: string; queueId: string }[] }>(routing, `${R}ListOffers`, { queue_ids: ['support'] }, token))
        .offers ?? [];
    const first = await visitorWrites('hello from grpcurl');
    const [offerA] = await waitFor(
      () => offers(agent1),
      (o) => o.length === 1,
      { what: 'the first offer' },
    );
    const accepted = await call<{ conversationId: string }>(routing, `${R}AcceptOffer`, { queue_id: 'support', offer_id: offerA!.offerId }, agent1);
    const conversationA = accepted.conversationId;
    assert.equal(conversationA, offerA!.conversationId);
    const second = await visitorWrites('a second visitor, longer text');
    const [offerB] = await waitFor(
      () => offers(agent1),
      (o) => o.length === 1 && o[0]!.conversationId !== conversationA,
      { what: 'the second offer' },
    );
    await call(routing, `${R}DeclineOffer`, { queue_id: 'support', offer_id: offerB!.offerId }, agent1);
    await call(routing, `${R}PickConversation`, { queue_id: 'support', conversation_id: offerB!.conversationId }, agent1);
    await call(availability, `${A}SetPresence`, { presence: 'PRESENCE_ONLINE' }, agent2);
    await call(
      routing,
      `${R}TransferConversation`,
      { queue_id: 'support', conversation_id: offerB!.conversationId, to_agent_id: 'demo-agent-2', warm: true },
      agent1,
    );
    const transfer = await waitFor(
      () => offers(agent2),
      (o) => o.length === 1,
      { what: 'the transfer offer' },
    );
    assert.equal(transfer[0]!.conversationId, offerB!.conversationId);
    assert.equal((transfer[0] as { transferFromAgentId?: string }).transferFromAgentId, 'demo-agent-1');
    first.close();
    second.close();

    // Conversations.
    const sent = await call<{ version: string; channel: string }>(
      api,
      `${C}SendMessage`,
      { conversation_id: conversationA, message_id: 'agent-reply-1', text: 'Hello, how can I help?' },
      agent1,
    );
    assert.equal(sent.channel, 'CHANNEL_WEB');
    await call(api, `${C}SendMessage`, { conversation_id: conversationA, message_id: 'agent-reply-2', text: 'typo' }, agent1);
    await call(api, `${C}EditMessage`, { conversation_id: conversationA, message_id: 'agent-reply-1', text: 'Hello! How can I help?' }, agent1);
    await call(api, `${C}DeleteMessage`, { conversation_id: conversationA, message_id: 'agent-reply-2' }, agent1);
    await call(api, `${C}MarkRead`, { conversation_id: conversationA }, agent1);
    await call(api, `${C}SetTyping`, { conversation_id: conversationA, typing: true }, agent1);
    await call(api, `${C}TagConversation`, { conversation_id: conversationA, add: ['billing', 'vip'], remove: ['vip'] }, agent1);
    await call(api, `${C}SetPriority`, { conversation_id: conversationA, priority: 2 }, agent1);
    await call(api, `${C}SnoozeConversation`, { conversation_id: conversationA, until: new Date(Date.now() + 3_600_000).toISOString() }, agent1);
    await call(api, `${C}ReopenConversation`, { conversation_id: conversationA }, agent1);
    await call(api, `${C}ResolveConversation`, { conversation_id: conversationA }, agent1);
    await call(api, `${C}RecordSatisfaction`, { conversation_id: conversationA, score: 5, comment: 'quick' }, agent1);
    const noted = await call<{ version: string }>(api, `${C}AddNote`, { conversation_id: conversationA, note_id: 'note-1', text: 'called them back' }, agent1);
    assert.ok(Number(noted.version) > 0);
    // An attachment: bytes as base64 in JSON, as protobuf's JSON mapping says.
    const uploaded = await call<{ attachment: { ref: string; mimeType: string; sizeBytes: string } }>(
      api,
      `${C}UploadAttachment`,
      { conversation_id: conversationA, name: 'note.txt', mime_type: 'text/plain', data: Buffer.from('see attached').toString('base64') },
      agent1,
    );
    assert.deepEqual([uploaded.attachment.mimeType, Number(uploaded.attachment.sizeBytes)], ['text/plain', 12]);
    const fetched = await call<{ data: string }>(api, `${C}GetAttachment`, { ref: uploaded.attachment.ref }, agent1);
    assert.equal(Buffer.from(fetched.data, 'base64').toString(), 'see attached');
    // Canned responses: a supervisor saves one, an agent fills it in for the conversation.
    const K = 'parley.v1.CannedResponseService/';
    await call(
      api,
      `${K}SaveCannedResponse`,
      { response: { response_id: 'thanks', shortcut: 'thanks', title: 'Thanks', text: 'Thanks, {{customer.name | "friend"}}!' } },
      supervisor,
    );
    const canned = await call<{ responses: { responseId: string; shortcut: string }[] }>(api, `${K}ListCannedResponses`, {}, agent1);
    assert.ok(canned.responses.some((r) => r.responseId === 'thanks' && r.shortcut === 'thanks'));
    const filled = await call<{ text: string }>(api, `${K}RenderCannedResponse`, { conversation_id: conversationA, response_id: 'thanks' }, agent1);
    assert.match(filled.text, /^Thanks, .+!$/);
    await call(api, `${K}DeleteCannedResponse`, { response_id: 'thanks' }, supervisor);
    const got = await waitFor(
      () =>
        call<{
          conversation: {
            customerId: string;
            tags?: string[];
            satisfaction?: number;
            timeline: { message?: { text?: string; edited?: boolean; deleted?: boolean } }[];
          };
        }>(api, `${C}GetConversation`, { conversation_id: conversationA }, agent1),
      (c) => c.conversation.satisfaction === 5,
      { what: 'the conversation with its satisfaction' },
    );
    assert.deepEqual(got.conversation.tags, ['billing']);
    assert.ok(got.conversation.timeline.some((e) => e.message?.text === 'Hello! How can I help?' && e.message.edited));
    assert.ok(got.conversation.timeline.some((e) => e.message?.deleted));
    const past = await call<{ conversation: { timeline: unknown[] } }>(
      api,
      `${C}GetConversationAt`,
      { conversation_id: conversationA, at: new Date().toISOString() },
      agent1,
    );
    assert.ok(past.conversation.timeline.length >= 3);
    // Paged: the latest two entries, then the ones before them.
    const latest = await call<{ conversation: { timeline: unknown[] }; previousPageToken: string }>(
      api,
      `${C}GetConversation`,
      { conversation_id: conversationA, page_size: 2 },
      agent1,
    );
    assert.equal(latest.conversation.timeline.length, 2);
    const earlier = await call<{ entries: unknown[]; nextPageToken: string }>(
      api,
      `${C}ListTimeline`,
      { conversation_id: conversationA, page_token: latest.previousPageToken, page_size: 50 },
      agent1,
    );
    assert.equal(earlier.entries.length + 2, got.conversation.timeline.length, 'the whole timeline in two pages');
    const customerA = got.conversation.customerId;
    const listed = await waitFor(
      () => call<{ conversations?: { id: string }[] }>(api, `${C}ListConversations`, { page_size: 10, customer_id: customerA }, supervisor),
      (l) => (l.conversations ?? []).length === 1,
      { what: 'the conversation listed' },
    );
    assert.equal(listed.conversations![0]!.id, conversationA);
    await call(api, `${C}ListInbox`, { agent_id: 'demo-agent-1', page_size: 10 }, agent1);
    await call(api, `${C}ListQueue`, { queue_id: 'support', page_size: 10 }, supervisor);
    const found = await waitFor(
      () => call<{ conversations?: { id: string }[] }>(api, `${C}SearchConversations`, { query: 'grpcurl', page_size: 10 }, agent1),
      (s) => (s.conversations ?? []).some((c) => c.id === conversationA),
      { what: 'the search hit' },
    );
    assert.ok(found.conversations!.length >= 1);

    // Customers, with google.protobuf.Struct attributes of every JSON kind.
    const attributes = { plan: 'pro', vip: true, orders: 3, tags: ['a', 'b'], address: { city: 'Berlin', zip: null } };
    const set = await call<{ customer: { attributes: unknown } }>(api, `${U}SetAttributes`, { customer_id: customerA, attributes }, agent1);
    assert.deepEqual(set.customer.attributes, attributes);
    const customer = await call<{ customer: { id: string; attributes: unknown; identities: { kind: string; id: string }[] } }>(
      api,
      `${U}GetCustomer`,
      { customer_id: customerA },
      agent1,
    );
    assert.deepEqual(customer.customer.attributes, attributes);
    const visitorIdentity = customer.customer.identities[0]!;
    const byIdentity = await call<{ customer: { id: string } }>(
      api,
      `${U}FindCustomer`,
      { identity: { kind: visitorIdentity.kind, id: visitorIdentity.id } },
      agent1,
    );
    assert.equal(byIdentity.customer.id, customerA);
    await call(api, `${U}LinkIdentity`, { customer_id: customerA, identity: { kind: 'email', id: 'grpcurl@example.com' } }, supervisor);
    await call(api, `${U}UnlinkIdentity`, { customer_id: customerA, identity: { kind: 'email', id: 'grpcurl@example.com' } }, supervisor);
    const customerB = (
      await call<{ conversation: { customerId: string } }>(api, `${C}GetConversation`, { conversation_id: offerB!.conversationId }, supervisor)
    ).conversation.customerId;
    const merged = await call<{ customer: { conversationIds: string[] } }>(
      api,
      `${U}MergeCustomers`,
      { survivor_customer_id: customerA, absorbed_customer_id: customerB },
      supervisor,
    );
    assert.deepEqual([...merged.customer.conversationIds].sort(), [conversationA, offerB!.conversationId].sort());
    await call(api, `${U}UnmergeCustomer`, { absorbed_customer_id: customerB }, supervisor);
    const exported = await call<{ customer: { id: string }; conversations: unknown[] }>(api, `${U}ExportCustomer`, { customer_id: customerA }, supervisor);
    assert.equal(exported.customer.id, customerA);
    assert.equal(exported.conversations.length, 1);
    await call(api, `${U}EraseCustomer`, { customer_id: customerB }, admin);
    // Context from the brand's systems: a profile and an order, by an identity the brand knows.
    const shopper = { kind: 'email', id: 'shopper@example.com' };
    const profiled = await call<{ customer: { id: string; profile: { name: string; attributes: unknown } }; created: boolean }>(
      api,
      `${U}UpdateCustomerProfile`,
      { identity: shopper, profile: { name: 'Sam Shopper', attributes: { cart_value: 42.5, newsletter: true } } },
      admin,
    );
    assert.deepEqual(
      [profiled.created, profiled.customer.profile.name, profiled.customer.profile.attributes],
      [true, 'Sam Shopper', { cart_value: 42.5, newsletter: true }],
    );
    const ordered = await call<{ customerId: string; changed: boolean }>(
      api,
      `${U}RecordCustomerOrder`,
      {
        identity: shopper,
        order: {
          order_id: 'SO-1',
          placed_at: '2026-12-01T10:00:00Z',
          status: 'ORDER_STATUS_PAID',
          items: [{ name: 'Mug', quantity: 1 }],
          total: { amount_minor: 1200, currency: 'EUR' },
        },
      },
      admin,
    );
    assert.deepEqual([ordered.customerId, ordered.changed], [profiled.customer.id, true]);
    // The read model lists it within moments.
    const orders = await waitFor(
      () =>
        call<{ orders?: { order: { orderId: string; status: string }; statusAt: string }[]; nextPageToken?: string }>(
          api,
          `${U}ListCustomerOrders`,
          { customer_id: profiled.customer.id, page_size: 10 },
          admin,
        ),
      (page) => (page.orders ?? []).length === 1,
      { what: 'the order listed' },
    );
    assert.deepEqual([orders.orders![0]!.order.orderId, orders.orders![0]!.order.status, orders.nextPageToken ?? ''], ['SO-1', 'ORDER_STATUS_PAID', '']);

    // The tenant's event feed, as an integrator follows it.
    const feed = await grpcurl(api, ['parley.v1.EventService/Subscribe'], {
      data: { after_position: 0, types: ['conversation.message-sent'] },
      token: supervisor,
      maxTimeSeconds: 2,
    });
    assert.equal(feed.code, 'DeadlineExceeded', 'the feed stays open for live events');
    assert.match(feed.stdout, /"type": "conversation.message-sent"/);
    invoked.add('parley.v1.EventService.Subscribe');

    const every = [...protoMethods()].flatMap(([service, methods]) => methods.map((m) => `${service}.${m}`));
    assert.deepEqual(
      every.filter((m) => !invoked.has(m)),
      [],
      'every method was invoked',
    );
  });

  it('refuses bad input with INVALID_ARGUMENT and changes nothing; the customer goes on writing', async () => {
    const C = 'parley.v1.ConversationService/';
    const supervisor = tokens['supervisor']!;
    const secret = readFileSync(join(parley.dataDir, 'meta-app.secret'), 'utf8').trim();
    const whatsapp = async (wamid: string, text: string) => {
      const body = JSON.stringify({
        object: 'whatsapp_business_account',
        entry: [
          {
            id: 'waba',
            changes: [
              {
                field: 'messages',
                value: {
                  messaging_product: 'whatsapp',
                  metadata: { display_phone_number: '15550001', phone_number_id: 'pn-demo' },
                  contacts: [{ profile: { name: 'Bea' }, wa_id: '4915199999999' }],
                  messages: [{ from: '4915199999999', id: wamid, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: text } }],
                },
              },
            ],
          },
        ],
      });
      const answer = await fetch(`${parley.channels}/webhooks/whatsapp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
        body,
      });
      assert.equal(answer.status, 200);
    };
    await whatsapp('wamid.bad-input-1', 'hello from WhatsApp');
    // One conversation per customer: it has the customer's id.
    const found = await waitFor(
      () => grpcurl(api, ['parley.v1.CustomerService/FindCustomer'], { data: { identity: { kind: 'whatsapp', id: '4915199999999' } }, token: supervisor }),
      (r) => r.exit === 0,
      { what: 'the WhatsApp customer' },
    );
    const customerId = (JSON.parse(found.stdout) as { customer: { id: string } }).customer.id;
    const conversation = { id: customerId, customerId };
    const version = async () =>
      (await invoke<{ conversation: { version: string } }>(api, `${C}GetConversation`, { conversation_id: conversation.id }, supervisor)).conversation.version;
    const before = await version();
    for (const [text, words] of [
      ['x'.repeat(4_097), /whatsapp carries at most 4096 characters/],
      ['x'.repeat(65_537), /text too long/],
    ] as const) {
      const refused = await grpcurl(api, [`${C}SendMessage`], {
        data: { conversation_id: conversation.id, message_id: `too-long-${text.length}`, text },
        token: supervisor,
      });
      assert.equal(refused.code, 'InvalidArgument', refused.stderr);
      assert.match(refused.stderr, words);
      // The field violations come as google.rpc.BadRequest, decoded through reflection.
      assert.match(refused.stderr, /"@type": "type.googleapis.com\/google.rpc.BadRequest"[\s\S]*"field": "text"/);
    }
    const big = await grpcurl(api, ['parley.v1.CustomerService/SetAttributes'], {
      data: { customer_id: conversation.customerId, attributes: { fine: 'yes', notes: 'n'.repeat(1024 * 1024) } },
      token: supervisor,
    });
    assert.equal(big.code, 'InvalidArgument', big.stderr);
    const customer = await invoke<{ customer: { attributes?: Record<string, unknown> } }>(
      api,
      'parley.v1.CustomerService/GetCustomer',
      { customer_id: conversation.customerId },
      supervisor,
    );
    assert.equal(customer.customer.attributes?.['fine'], undefined, 'all or nothing: the value that fitted was not written either');
    const timeline = (
      await invoke<{ conversation: { timeline: { message?: { id: string } }[] } }>(api, `${C}GetConversation`, { conversation_id: conversation.id }, supervisor)
    ).conversation.timeline;
    assert.deepEqual(
      timeline.filter((e) => e.message?.id.startsWith('too-long')),
      [],
      'no refused message in the conversation',
    );
    // The customer writes again and is recorded as before.
    await whatsapp('wamid.bad-input-2', 'still there?');
    await waitFor(version, (v) => Number(v) > Number(before), { what: 'the next message recorded' });
  });
});
