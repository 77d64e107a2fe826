import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { Metadata, credentials, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { MongoClient } from 'mongodb';
import { agentDecider } from '@parley/availability-domain';
import { EVENT_CONTRACTS, streams, type RoutingEvent } from '@parley/contracts';
import { SNAPSHOT_SCHEMA_VERSION, conversationDecider } from '@parley/conversation';
import { customerDecider } from '@parley/customer';
import { DeciderStore, OutboxRelay } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { KafkaBus } from '@parley/message-bus';
import { Registry } from '@parley/observability';
import { openStorage, type Storage } from '@parley/storage';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { loadRoutingConfig } from '../config/routing.config';
import { startRouting, type RunningRouting } from '../routing.app';

const SECRET = 'routing-rules-secret-at-least-32-bytes-long';

async function bearer(tenant: string, subject: string, role: string): Promise<Metadata> {
  const jwt = await new SignJWT({ tenant, role })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(subject)
    .setAudience('parley')
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SECRET));
  const md = new Metadata();
  md.set('authorization', `Bearer ${jwt}`);
  return md;
}
type Callable = (req: unknown, md: Metadata, cb: (e: ServiceError | null, r?: unknown) => void) => void;
const rpc = <T>(client: Client, method: string, request: unknown, md: Metadata) =>
  new Promise<T>((resolve, reject) =>
    (client as unknown as Record<string, Callable>)[method]!.call(client, request, md, (e, r) => (e ? reject(e) : resolve(r as T))),
  );

const RULES = [
  { rule_id: 'vip', queue_id: 'vip', channels: [], languages: [], attributes: { tier: 'gold' }, skills: [] },
  { rule_id: 'german', queue_id: 'de', channels: ['whatsapp', 'messenger'], languages: ['de'], attributes: {}, skills: ['german'] },
  { rule_id: 'live', queue_id: 'live', channels: ['web'], languages: [], attributes: {}, skills: [] },
];

describe('routing by rules: conversations to many queues by channel, language, customer attributes and skills (Kafka, FerretDB)', () => {
  const { kafkaBrokers, mongoUrl } = infrastructure();
  const database = uniqueName('parley_routing_rules').replace(/-/g, '_');
  const tenant = `t${randomBytes(4).toString('hex')}`;
  const namespace = `${uniqueName('rules')}.`;
  const env = {
    PARLEY_STORE: 'mongo',
    PARLEY_MONGO_URL: mongoUrl,
    PARLEY_MONGO_DATABASE: database,
    PARLEY_MASTER_KEY: randomBytes(32).toString('base64'),
    PARLEY_TOKEN_SECRETS: SECRET,
    PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','),
    // Topics and groups of this spec's own: no other spec's backlog in the routing groups.
    PARLEY_KAFKA_NAMESPACE: namespace,
    PARLEY_ROUTING_GRPC_ADDRESS: '127.0.0.1:0',
    PARLEY_ROUTING_HTTP_PORT: '0',
    PARLEY_ROUTING_TICK_MS: '300',
    PARLEY_ROUTING_QUEUE: 'service-default',
  };
  let storage: Storage;
  let bus: KafkaBus;
  let relay: OutboxRelay;
  let routing: RunningRouting;
  let client: Client;

  before(async () => {
    storage = await openStorage(loadRoutingConfig(env), new Registry());
    bus = new KafkaBus({ brokers: kafkaBrokers, clientId: 'routing-rules-spec', namespace, registry: new Registry() });
    await bus.ensureTopics(['conversation', 'customer', 'agent', 'queue', 'routing'].map((c) => ({ name: `parley.${c}.events`, partitions: 12 })));
    // Events written here by hand reach Kafka as any service's would.
    relay = new OutboxRelay({ log: storage.raw, bus, sweepIntervalMs: 100, sweepAgeMs: 0 });
    relay.start();
    routing = await startRouting(loadRoutingConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    client = new (parleyService('RoutingService'))(`127.0.0.1:${routing.grpcPort}`, credentials.createInsecure());
    // Two agents: only one speaks German (has the skill the German rule adds).
    const agents = new DeciderStore({ log: storage.log, decider: agentDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1 });
    const at = new Date().toISOString();
    for (const [agentId, skills] of [
      ['anna', ['german']],
      ['bob', []],
    ] as const) {
      const stream = streams.agent(tenant, agentId);
      await agents.handle(
        stream,
        { type: 'SetCapacity', agentId, liveChats: 5, messaging: 10, skills: [...skills], languages: [], at },
        { tenantId: tenant, metadata: {} },
      );
      await agents.handle(stream, { type: 'SetPresence', agentId, presence: 'online', reason: 'manual', at }, { tenantId: tenant, metadata: {} });
    }
  });
  after(async () => {
    client.close();
    await routing.close();
    await relay.stop();
    await bus.close();
    await storage.close();
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  it('lets supervisors set the rules, refuses bad ones changing nothing, and says when a repeat changed nothing', async () => {
    const supervisor = await bearer(tenant, 'sue', 'supervisor');
    assert.deepEqual(await rpc(client, 'GetRoutingRules', {}, supervisor), { rules: [], default_queue_id: '' });
    assert.deepEqual(await rpc(client, 'SetRoutingRules', { rules: RULES, default_queue_id: 'general' }, supervisor), { changed: true });
    assert.deepEqual(await rpc(client, 'SetRoutingRules', { rules: RULES, default_queue_id: 'general' }, supervisor), { changed: false });

    const refused = async (request: unknown, md: Metadata, code: status, field?: string) =>
      assert.rejects(rpc(client, 'SetRoutingRules', request, md), (e: ServiceError) => {
        assert.equal(e.code, code);
        if (field) assert.match(e.details, new RegExp(field.replace(/[[\].]/g, '\\$&')));
        return true;
      });
    await refused({ rules: RULES, default_queue_id: 'general' }, await bearer(tenant, 'anna', 'agent'), status.PERMISSION_DENIED);
    await refused({ rules: [{ ...RULES[0], channels: ['fax'] }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [{ ...RULES[0], languages: ['not a language'] }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [RULES[0], { ...RULES[1], rule_id: 'vip' }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: RULES, default_queue_id: '' }, supervisor, status.INVALID_ARGUMENT);
    await refused({ rules: [{ ...RULES[0], queue_id: 'a queue with spaces' }], default_queue_id: 'general' }, supervisor, status.INVALID_ARGUMENT);

    const { rules, default_queue_id } = await rpc<{ rules: unknown[]; default_queue_id: string }>(
      client,
      'GetRoutingRules',
      {},
      await bearer(tenant, 'anna', 'agent'),
    );
    assert.equal(default_queue_id, 'general');
    assert.deepEqual(rules, RULES);
    assert.equal((await storage.raw.readStream(streams.routingRules(tenant))).length, 1, 'one event: the repeat and the refused calls wrote nothing');
  });

  it('sends each new conversation to the queue of the first rule it matches, with the rule’s skills, and the rest to the default queue', async () => {
    const customers = new DeciderStore({ log: storage.log, decider: customerDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1 });
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
      await bearer(tenant, 'anna', 'agent'),
    );
    assert.ok(
      listed.offers.some((o) => o.queue_id === 'de' && o.conversation_id === 'conv-austrian'),
      JSON.stringify(listed.offers),
    );

    // Anna takes it; resolved, it is released in the queue it was assigned in, not in the default one.
    const offer = offers[0]!.data as { offerId: string; conversationId: string };
    await rpc(client, 'AcceptOffer', { queue_id: 'de', offer_id: offer.offerId }, await bearer(tenant, 'anna', 'agent'));
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
});
