import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { Metadata, credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { ALWAYS_OPEN, availabilityEnv, bearer as signedBearer, rpc } from './testing/availability.fixture';
import { STREAM_CATEGORIES, eventsTopic } from '@parley/contracts';
import { MongoEventLog } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { KafkaBus } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { startAvailability, type RunningAvailability } from './availability.app';
import { loadAvailabilityConfig } from './config/availability.config';

const SECRET = 'availability-test-secret-at-least-32-bytes';
type Offer = { live_chat: boolean; agents_free: number; reason: string; expected_answer: { seconds: string } | null };

const bearer = (tenant: string, role: string, subject: string) => signedBearer(SECRET, tenant, role, subject);

describe('availability service: what widgets are offered, live (FerretDB)', () => {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_availability').replace(/-/g, '_');
  // Long enough that a loaded machine's pauses between calls never look like a lost heartbeat.
  const env = availabilityEnv(database, SECRET, { awayMs: 3000, offlineMs: 6000 });

  let running: RunningAvailability;
  let client: Client;
  const connect = () => new (parleyService('AvailabilityService'))(`127.0.0.1:${running.grpcPort}`, credentials.createInsecure());

  const registry = new Registry();
  before(async () => {
    running = await startAvailability(loadAvailabilityConfig(env), { registry, httpHost: '127.0.0.1' });
    client = connect();
    const sup = await bearer('brand-a', 'supervisor', 'sup-1');
    await rpc(client, 'SetBusinessHours', { queue_id: 'support', time_zone: 'Europe/Berlin', days: ALWAYS_OPEN }, sup);
    await rpc(
      client,
      'SetQueueRequirements',
      { queue_id: 'support', skills: ['billing'], languages: ['de'], typical_response: { seconds: 120, nanos: 0 } },
      sup,
    );
    for (const agent of ['agent-1', 'agent-2'])
      await rpc(client, 'SetCapacity', { agent_id: agent, live_chats: 2, messaging: 10, skills: ['billing'], languages: ['de'] }, sup);
  });
  after(async () => {
    client.close();
    await running.close();
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  it('flips a subscribed widget from live chat to messaging when the last agent goes offline, and back', async () => {
    const updates: Offer[] = [];
    const watch = (client as unknown as { WatchAvailability: (r: unknown, m: Metadata) => NodeJS.ReadableStream & { cancel(): void } }).WatchAvailability(
      { queue_id: 'support' },
      await bearer('brand-a', 'integration', 'widget-gateway'),
    );
    watch.on('data', (m: { offer: Offer }) => updates.push(m.offer));
    watch.on('error', () => undefined);
    await waitFor(
      () => updates.length,
      (n) => n >= 1,
      { what: 'the first offer' },
    );
    assert.equal(updates[0]!.live_chat, false, 'nobody online yet');
    assert.equal(updates[0]!.reason, 'no-agent-free');

    const one = await bearer('brand-a', 'agent', 'agent-1');
    const two = await bearer('brand-a', 'agent', 'agent-2');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, one);
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, two);
    await waitFor(
      () => updates.at(-1)!.live_chat,
      (live) => live,
      { what: 'live chat offered' },
    );
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, one);
    // The change is in the model (one agent free): any update it caused has been sent by now.
    await waitFor(
      async () => (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, one)).offer.agents_free,
      (n) => n === 1,
      { what: 'agent-1 gone from the model' },
    );
    assert.equal(updates.at(-1)!.live_chat, true, 'one agent is still there');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, two);
    await waitFor(
      () => updates.at(-1)!,
      (o) => !o.live_chat,
      { what: 'the last agent gone' },
    );
    // Open around the clock with nobody online: when someone will be back is unknown, and no time is promised.
    assert.equal(updates.at(-1)!.expected_answer, null, 'no answer time promised');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, two);
    await waitFor(
      () => updates.at(-1)!.live_chat,
      (live) => live,
      { what: 'back to live chat' },
    );
    assert.deepEqual(
      updates.map((u) => u.live_chat),
      [false, true, false, true],
      'told only of changes',
    );
    watch.cancel();
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, two);
  });

  it('measures queues within their business hours, and those with no agent of their tenant online', async () => {
    const sup = await bearer('brand-c', 'supervisor', 'sup-c');
    await rpc(client, 'SetBusinessHours', { queue_id: 'night-desk', time_zone: 'UTC', days: ALWAYS_OPEN }, sup);
    const gaugeOf = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.find((v) => v.labels['queue'] === 'night-desk')?.value;
    await waitFor(
      () => gaugeOf('parley_queues_unstaffed'),
      (n) => n === 1,
      { what: 'an open queue nobody staffs' },
    );
    assert.equal(await gaugeOf('parley_queues_open'), 1);
    const agent = await bearer('brand-c', 'agent', 'agent-c');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, agent);
    await waitFor(
      () => gaugeOf('parley_queues_unstaffed'),
      (n) => n === 0,
      { what: 'staffed once an agent of brand-c is online' },
    );
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_OFFLINE' }, agent);
  });

  it('counts live chats against capacity: agents full of live chats are not offered', async () => {
    const one = await bearer('brand-a', 'agent', 'agent-1');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, one);
    const widget = await bearer('brand-a', 'integration', 'w');
    assert.equal((await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget)).offer.agents_free, 1);
    // Routing assigns agent-1 two web conversations (live chats): its capacity.
    const mongo = await MongoEventLog.connect(mongoUrl, database, { registry: new Registry() });
    for (const c of ['c1', 'c2']) {
      await mongo.append(
        `conversation-brand-a-${c}`,
        [
          { type: 'conversation.started', tenantId: 'brand-a', data: { conversationId: c, customerId: c, channel: 'web', at: new Date().toISOString() } },
          { type: 'conversation.assigned', tenantId: 'brand-a', data: { agentId: 'agent-1', at: new Date().toISOString() } },
        ],
        'no_stream',
      );
    }
    // Routing's writes reach this service through Kafka (here, the outbox sweep publishes them after
    // seconds): agent-1's desktop keeps beating meanwhile, as a desktop does.
    const liveChat = async () => {
      await rpc(client, 'Heartbeat', {}, one);
      return (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget)).offer.live_chat;
    };
    await waitFor(liveChat, (live) => !live, { what: 'agent-1 full' });
    await mongo.append(
      'conversation-brand-a-c1',
      [{ type: 'conversation.resolved', tenantId: 'brand-a', data: { by: { kind: 'agent', agentId: 'agent-1' }, at: new Date().toISOString() } }],
      2,
    );
    await waitFor(liveChat, (live) => live, { what: 'a live chat free again' });
    await mongo.close();
  });

  it("has created every topic the outbox publishes to, routing's included, before it relays anything", async () => {
    const admin = new KafkaBus({ brokers: infrastructure().kafkaBrokers, clientId: 'availability-spec-topics', registry: new Registry() }).admin();
    await admin.connect();
    try {
      const topics = new Set(await admin.listTopics());
      assert.deepEqual(
        STREAM_CATEGORIES.map(eventsTopic).filter((t) => !topics.has(t)),
        [],
      );
      assert.ok(topics.has('parley.routing.events'));
    } finally {
      await admin.disconnect();
    }
  });

  it('publishes presence changes on Kafka for other services', async () => {
    const bus = new KafkaBus({ brokers: infrastructure().kafkaBrokers, clientId: 'availability-spec', registry: new Registry() });
    const seen: { type: string; stream: string }[] = [];
    const sub = await bus.subscribe({
      groupId: uniqueName('agent-events'),
      topics: ['parley.agent.events'],
      fromBeginning: true,
      handler: async (m) => void seen.push({ type: m.headers['ce_type'] ?? '', stream: m.key ?? '' }),
    });
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_AWAY' }, await bearer('brand-a', 'agent', 'agent-1'));
    await waitFor(
      () => seen.filter((s) => s.stream === 'agent-brand-a-agent-1' && s.type === 'agent.presence-changed').length,
      (n) => n >= 1,
      { what: 'the presence change on Kafka', timeoutMs: 30_000 },
    );
    await sub.close();
    await bus.close();
  });

  it('turns an agent whose heartbeat stopped away, then offline', async () => {
    const three = await bearer('brand-a', 'agent', 'agent-1');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, three);
    assert.equal((await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, three)).offer.live_chat, true);
    await waitFor(
      async () => (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, three)).offer.live_chat,
      (live) => !live,
      { what: 'the lost heartbeat', timeoutMs: 30_000 },
    );
    await rpc(client, 'Heartbeat', {}, three);
  });

  it('invites a visitor at most once per period, and answers the same after a rebuild from the log', async () => {
    const sup = await bearer('brand-a', 'supervisor', 'sup-1');
    await rpc(
      client,
      'SetTargetingRules',
      {
        rules: [
          {
            rule_id: 'checkout',
            url_pattern: 'https://shop.example/checkout*',
            min_time_on_page_seconds: 20,
            visitor: 'ANY',
            message: 'Need help?',
            queue_id: 'support',
          },
        ],
        period: { seconds: 3600, nanos: 0 },
      },
      sup,
    );
    const agent = await bearer('brand-a', 'agent', 'agent-2');
    await rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, agent);
    const widget = await bearer('brand-a', 'integration', 'widget-gateway');
    const page = { visitor_id: 'v-1', queue_id: 'support', url: 'https://shop.example/checkout/pay', time_on_page_seconds: 25, pages_viewed: 3 };
    await waitFor(
      async () => (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget)).offer.live_chat,
      (l) => l,
      { what: 'agent-2 online' },
    );
    assert.equal((await rpc<{ invitation_rule_id: string }>(client, 'EvaluatePage', page, widget)).invitation_rule_id, 'checkout');
    await waitFor(
      async () => (await rpc<{ invitation_rule_id: string }>(client, 'EvaluatePage', page, widget)).invitation_rule_id,
      (id) => id === '',
      { what: 'the shown invitation counted' },
    );
    assert.equal(
      (await rpc<{ invitation_rule_id: string }>(client, 'EvaluatePage', { ...page, visitor_id: 'v-2', time_on_page_seconds: 5 }, widget)).invitation_rule_id,
      '',
      'too early on the page',
    );
    await rpc(client, 'AnswerInvitation', { visitor_id: 'v-1', rule_id: 'checkout', accepted: true }, widget);
    const counted = async (name: string) => (await registry.getSingleMetric(name)!.get()).values.map((v) => [v.labels['answer'] ?? '', v.value]);
    assert.deepEqual(await counted('parley_invitations_shown_total'), [['', 1]], 'shown once, though asked on every page view');
    assert.deepEqual(await counted('parley_invitations_answered_total'), [['accepted', 1]]);
    const before = await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget);

    // A new instance rebuilds everything from the log.
    client.close();
    await running.close();
    running = await startAvailability(loadAvailabilityConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    client = connect();
    assert.deepEqual(await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget), before);
    assert.equal((await rpc<{ invitation_rule_id: string }>(client, 'EvaluatePage', page, widget)).invitation_rule_id, '', 'still shown within the period');
    assert.equal(
      (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, await bearer('brand-b', 'integration', 'w'))).offer.live_chat,
      false,
      'another tenant has no agents here',
    );
  });

  it('refuses bad configuration with INVALID_ARGUMENT and agents configuring with PERMISSION_DENIED', async () => {
    const sup = await bearer('brand-a', 'supervisor', 'sup-1');
    await assert.rejects(
      rpc(client, 'SetBusinessHours', { queue_id: 'support', time_zone: 'Mars/Olympus', days: ALWAYS_OPEN }, sup),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      rpc(client, 'SetHoursException', { queue_id: 'support', date: '2026-13-40', slots: [] }, sup),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      rpc(client, 'SetRoutingPolicy', { queue_id: 'support', strategy: 'random', escalation: [] }, sup),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
    );
    await assert.rejects(
      rpc(
        client,
        'SetRoutingPolicy',
        { queue_id: 'support', strategy: 'round-robin', escalation: [{ after: { seconds: 60, nanos: 0 }, action: 'overflow', to_queue_id: '' }] },
        sup,
      ),
      (e: ServiceError) => e.code === status.INVALID_ARGUMENT,
    );
    await rpc(
      client,
      'SetRoutingPolicy',
      {
        queue_id: 'support',
        strategy: 'round-robin',
        offer_timeout: { seconds: 20, nanos: 0 },
        sticky: { seconds: 30, nanos: 0 },
        escalation: [{ after: { seconds: 120, nanos: 0 }, action: 'widen-skills' }],
        requeue_live_on_offline: true,
      },
      sup,
    );
    await assert.rejects(
      rpc(client, 'SetCapacity', { agent_id: 'agent-1', live_chats: 3, messaging: 1, skills: [], languages: [] }, await bearer('brand-a', 'agent', 'agent-1')),
      (e: ServiceError) => e.code === status.PERMISSION_DENIED,
    );
    await assert.rejects(
      rpc(client, 'SetPresence', { presence: 'PRESENCE_ONLINE', agent_id: 'agent-2' }, await bearer('brand-a', 'agent', 'agent-1')),
      (e: ServiceError) => e.code === status.PERMISSION_DENIED,
    );
    const widget = await bearer('brand-a', 'integration', 'w');
    assert.equal(
      (await rpc<{ offer: Offer }>(client, 'GetAvailability', { queue_id: 'support' }, widget)).offer.reason === 'closed',
      false,
      'the hours stayed as they were',
    );
  });
});
