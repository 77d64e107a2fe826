import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, status, type Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { EVENT_CONTRACTS, streams, type RoutingEvent } from '@parley/contracts';
import { SNAPSHOT_SCHEMA_VERSION, conversationDecider } from '@parley/conversation';
import { CUSTOMER_SNAPSHOT_SCHEMA_VERSION, customerDecider } from '@parley/customer';
import { DeciderStore } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import type { Storage } from '@parley/storage';
import { bearer, rpc, waitFor } from '@parley/testing-support';
import { routingEnv, routingWorld } from '../testing/routing.fixture';
import { loadRoutingConfig } from '../config/routing.config';
import { startRouting, type RunningRouting } from '../routing.app';

const SECRET = 'routing-rules-secret-at-least-32-bytes-long';

const RULES = [
  { rule_id: 'vip', queue_id: 'vip', channels: [], languages: [], attributes: { tier: 'gold' }, skills: [] },
  { rule_id: 'german', queue_id: 'de', channels: ['whatsapp', 'messenger'], languages: ['de'], attributes: {}, skills: ['german'] },
  { rule_id: 'live', queue_id: 'live', channels: ['web'], languages: [], attributes: {}, skills: [] },
];

describe('routing by rules: conversations to many queues by channel, language, customer attributes and skills (Kafka, FerretDB)', () => {
  const env = routingEnv('routing_rules', SECRET, { PARLEY_ROUTING_QUEUE: 'service-default' });
  const tenant = `t${randomBytes(4).toString('hex')}`;
  let world: Awaited<ReturnType<typeof routingWorld>>;
  let storage: Storage;
  let routing: RunningRouting;
  let client: Client;

  before(async () => {
    world = await routingWorld(env, 'routing-rules-spec');
    storage = world.storage;
    routing = await startRouting(loadRoutingConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    client = new (parleyService('RoutingService'))(`127.0.0.1:${routing.grpcPort}`, credentials.createInsecure());
    // Two agents: only one speaks German (has the skill the German rule adds).
    await world.online(tenant, [
      { agentId: 'anna', skills: ['german'], liveChats: 5 },
      { agentId: 'bob', liveChats: 5 },
    ]);
  });
  after(async () => {
    client.close();
    await routing.close();
    await world.close();
  });

  it('lets supervisors set the rules, refuses bad ones changing nothing, and says when a repeat changed nothing', async () => {
    const supervisor = await bearer(SECRET, tenant, 'supervisor', 'sue');
    assert.deepEqual(await rpc(client, 'GetRoutingRules', {}, supervisor), { rules: [], default_queue_id: '' });
    assert.deepEqual(await rpc(client, 'SetRoutingRules', { rules: RULES, default_queue_id: 'general' }, supervisor), { changed: true });
    assert.deepEqual(await rpc(client, 'SetRoutingRules', { rules: RULES, default_queue_id: 'general' }, supervisor), { changed: false });

    const refused = async (request: unknown, md: Metadata, code: status, field?: string) =>
      assert.rejects(rpc(client, 'SetRoutingRules', request, md), (e: ServiceError) => {
        assert.equal(e.code, code);
        if (field) assert.match(e.details, new RegExp(field.replace(/[[\].]/g, '\\$&')));
        return true;
      });
    await refused({ rules: RULES, default_queue_id: 'general' }, await bearer(SECRET, tenant, 'agent', 'anna'), status.PERMISSION_DENIED);
    await refused({ rules: [{ ...RULES[0], channels: ['fax'] }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [{ ...RULES[0], languages: ['not a language'] }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [RULES[0], { ...RULES[1], rule_id: 'vip' }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: RULES, default_queue_id: '' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [{ ...RULES[0], queue_id: 'a queue with spaces' }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);

    const { rules, default_queue_id } = await rpc<{ rules: unknown[]; default_queue_id: string }>(
      client,
      'GetRoutingRules',
      {},
      await bearer(SECRET, tenant, 'agent', 'anna'),
    );
    assert.equal(default_queue_id, 'general');
    assert.deepEqual(rules, RULES);
    assert.equal((await storage.raw.readStream(streams.routingRules(tenant))).length, 1, 'one event: the repeat and the refused calls wrote nothing');
  });

  it('sends each new conversation to the queue of the first rule it matches, with the rule’s skills, and the rest to the default queue', async () => {
    const customers = new DeciderStore({
      log: storage.log,
      decider: customerDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: CUSTOMER_SNAPSHOT_SCHEMA_VERSION,
    });
    const conversations = new DeciderStore({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    });
    const at = () => new Date().toISOString();
    const cases = [
      // customer, attributes, channel → expected queue
      { id: 'gold-de', attributes: { tier: 'gold', language: 'de' }, channel: 'whatsapp' as const, queue: 'vip' },
      { id: 'austrian', attributes: { language: 'de-AT' }, channel: 'whatsapp' as const, queue: 'de' },
      { id: 'german-on-the-web', attributes: { language: 'de' }, channel: 'web' as const, queue: 'live' },
      { id: 'english', attributes: { language: 'en' }, channel: 'messenger' as const, queue: 'general' },
      { id: 'no-attributes', attributes: {}, channel: 'apple' as const, queue: 'general' },
    ];
    for (const c of cases) {
      const stream = streams.customer(tenant, c.id);
      await customers.handle(stream, { type: 'Register', customerId: c.id, at: at() }, { tenantId: tenant, metadata: { subjectId: c.id } });
      for (const [key, value] of Object.entries(c.attributes))
        await customers.handle(stream, { type: 'SetAttribute', key, value, at: at() }, { tenantId: tenant, metadata: { subjectId: c.id } });
      await conversations.handle(
        streams.conversation(tenant, `conv-${c.id}`),
        {
          type: 'ReceiveMessage',
          conversationId: `conv-${c.id}`,
          customerId: c.id,
          messageId: 'm1',
          channel: c.channel,
          channelMessageId: `x-${c.id}`,
          text: 'hello',
          at: at(),
        },
        { tenantId: tenant, metadata: { subjectId: c.id } },
      );
    }
    const enqueuedIn = async (queue: string) =>
      (await storage.log.readStream(streams.routing(tenant, queue)))
        .filter((e) => e.type === 'routing.enqueued')
        .map((e) => e.data as Extract<RoutingEvent, { type: 'routing.enqueued' }>['data']);
    for (const queue of ['vip', 'de', 'live', 'general'])
      await waitFor(
        () => enqueuedIn(queue),
        (list) => list.length === cases.filter((c) => c.queue === queue).length,
        { what: `conversations in queue ${queue}`, timeoutMs: 30_000 },
      );
    for (const c of cases) {
      const found = (await enqueuedIn(c.queue)).find((e) => e.conversationId === `conv-${c.id}`);
      assert.ok(found, `${c.id} waits in ${c.queue}`);
    }
    assert.deepEqual((await enqueuedIn('de'))[0]!.skills, ['german']);
    assert.deepEqual(await enqueuedIn('service-default'), [], 'nothing went to the service default once the tenant had rules');

    // The conversation that needs German is offered to the agent who has the skill, never to the other.
    const offers = await waitFor(
      async () => (await storage.log.readStream(streams.routing(tenant, 'de'))).filter((e) => e.type === 'routing.offered'),
      (list) => list.length > 0,
      { what: 'an offer in the German queue', timeoutMs: 30_000 },
    );
    assert.ok(offers.every((o) => (o.data as { agentId: string }).agentId === 'anna'));

    // Her desktop asks for offers without naming queues: every queue the rules name is looked in.
    const listed = await rpc<{ offers: { queue_id: string; conversation_id: string }[] }>(
      client,
      'ListOffers',
      { queue_ids: [] },
      await bearer(SECRET, tenant, 'agent', 'anna'),
    );
    assert.ok(
      listed.offers.some((o) => o.queue_id === 'de' && o.conversation_id === 'conv-austrian'),
      JSON.stringify(listed.offers),
    );

    // Anna takes it; resolved, it is released in the queue it was assigned in, not in the default one.
    const offer = offers[0]!.data as { offerId: string; conversationId: string };
    await rpc(client, 'AcceptOffer', { queue_id: 'de', offer_id: offer.offerId }, await bearer(SECRET, tenant, 'agent', 'anna'));
    await conversations.handle(
      streams.conversation(tenant, offer.conversationId),
      { type: 'Resolve', by: { kind: 'agent', agentId: 'anna' }, at: at() },
      { tenantId: tenant, metadata: { subjectId: 'austrian' } },
    );
    const released = await waitFor(
      async () => (await storage.log.readStream(streams.routing(tenant, 'de'))).filter((e) => e.type === 'routing.released'),
      (list) => list.length === 1,
      { what: 'the release in the German queue', timeoutMs: 30_000 },
    );
    assert.deepEqual(
      { ...(released[0]!.data as object), at: undefined },
      { conversationId: offer.conversationId, agentId: 'anna', reason: 'resolved', at: undefined },
    );
  });

  it("releases a long conversation's agent in its queue when it is resolved, and offers it to that agent first when the customer returns, its assignment far behind", async () => {
    const conversations = new DeciderStore({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    });
    const [offered] = await waitFor(
      async () => (await storage.log.readStream(streams.routing(tenant, 'vip'))).filter((e) => e.type === 'routing.offered'),
      (list) => list.length > 0,
      { what: 'an offer in the VIP queue', timeoutMs: 30_000 },
    );
    const offer = offered!.data as { offerId: string; agentId: string; conversationId: string };
    await rpc(client, 'AcceptOffer', { queue_id: 'vip', offer_id: offer.offerId }, await bearer(SECRET, tenant, 'agent', offer.agentId));
    const stream = streams.conversation(tenant, offer.conversationId);
    await waitFor(
      async () => (await conversations.load(stream)).state.agentId,
      (agent) => agent === offer.agentId,
      { what: 'the assignment on the conversation' },
    );
    // Far more than a page of recent events: the conversation itself keeps the queue and agent of its assignment.
    for (let i = 0; i < 210; i++)
      await conversations.handle(
        stream,
        {
          type: 'ReceiveMessage',
          conversationId: offer.conversationId,
          customerId: 'gold-de',
          messageId: `long-${i}`,
          channel: 'whatsapp',
          channelMessageId: `wa-long-${i}`,
          text: `message ${i}`,
          at: new Date().toISOString(),
        },
        { tenantId: tenant, metadata: { subjectId: 'gold-de' } },
      );
    await conversations.handle(
      stream,
      { type: 'Resolve', by: { kind: 'agent', agentId: offer.agentId }, at: new Date().toISOString() },
      { tenantId: tenant, metadata: { subjectId: 'gold-de' } },
    );
    const released = await waitFor(
      async () => (await storage.log.readStream(streams.routing(tenant, 'vip'))).filter((e) => e.type === 'routing.released'),
      (list) => list.length === 1,
      { what: 'the release in the VIP queue', timeoutMs: 30_000 },
    );
    assert.equal((released[0]!.data as { agentId: string }).agentId, offer.agentId);
    await conversations.handle(
      stream,
      {
        type: 'ReceiveMessage',
        conversationId: offer.conversationId,
        customerId: 'gold-de',
        messageId: 'back-again',
        channel: 'whatsapp',
        channelMessageId: 'wa-back-again',
        text: 'me again',
        at: new Date().toISOString(),
      },
      { tenantId: tenant, metadata: { subjectId: 'gold-de' } },
    );
    const queuedAgain = await waitFor(
      async () =>
        (await storage.log.readStream(streams.routing(tenant, 'vip'))).filter(
          (e) => e.type === 'routing.enqueued' && (e.data as { conversationId: string }).conversationId === offer.conversationId,
        ),
      (list) => list.length === 2,
      { what: 'the returning customer queued again in the VIP queue', timeoutMs: 30_000 },
    );
    assert.equal((queuedAgain[1]!.data as { preferredAgentId?: string }).preferredAgentId, offer.agentId);
  });
});
