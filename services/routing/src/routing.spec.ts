import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials } from '@grpc/grpc-js';
import { EVENT_CONTRACTS, streams } from '@parley/contracts';
import { SNAPSHOT_SCHEMA_VERSION, conversationDecider } from '@parley/conversation';
import { DeciderStore } from '@parley/event-log';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import type { Storage } from '@parley/storage';
import { bearer, rpc } from '@parley/testing-support';
import { routingEnv, routingWorld } from './testing/routing.fixture';
import { loadRoutingConfig } from './config/routing.config';
import { startRouting, type RunningRouting } from './routing.app';

const SECRET = 'routing-test-secret-at-least-32-bytes-long';
const AGENTS = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const CONVERSATIONS = 20;
const CAPACITY = 2;

describe('routing: two instances over Kafka and FerretDB, one stopping in the middle', () => {
  const env = routingEnv('routing', SECRET, { PARLEY_ROUTING_OFFER_TIMEOUT_SECONDS: '5' });
  const tenant = `t${randomBytes(4).toString('hex')}`;
  let world: Awaited<ReturnType<typeof routingWorld>>;
  let storage: Storage;
  const instances: RunningRouting[] = [];

  before(async () => {
    world = await routingWorld(env, 'routing-spec');
    storage = world.storage;
    for (let i = 0; i < 2; i++) instances.push(await startRouting(loadRoutingConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' }));
    await world.online(
      tenant,
      AGENTS.map((agentId) => ({ agentId, liveChats: CAPACITY })),
    );
  });
  after(async () => {
    for (const r of instances) await r.close().catch(() => undefined);
    await world.close();
  });

  it("never assigns a conversation twice, never exceeds an agent's capacity, and offers every conversation", async () => {
    const conversations = new DeciderStore({
      log: storage.log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
    });
    const ids = Array.from({ length: CONVERSATIONS }, (_, i) => `c${i}`);
    for (const id of ids)
      await conversations.handle(
        streams.conversation(tenant, id),
        {
          type: 'ReceiveMessage',
          conversationId: id,
          customerId: id,
          messageId: 'm1',
          channel: 'web',
          channelMessageId: `w-${id}`,
          text: 'hello',
          at: new Date().toISOString(),
        },
        { tenantId: tenant, metadata: { subjectId: id } },
      );

    const clients = instances.map((r) => new (parleyService('RoutingService'))(`127.0.0.1:${r.grpcPort}`, credentials.createInsecure()));
    let stopped = false;
    const assignedOf = async () => {
      const owners = new Map<string, string[]>();
      for (const id of ids)
        owners.set(
          id,
          (await storage.log.readStream(streams.conversation(tenant, id)))
            .filter((e) => e.type === 'conversation.assigned')
            .map((e) => (e.data as { agentId: string }).agentId),
        );
      return owners;
    };
    // Agents take every offer they see, asking either instance; assigned conversations are resolved a moment later, freeing capacity.
    const deadline = Date.now() + 90_000;
    const resolved = new Set<string>();
    while (Date.now() < deadline) {
      for (const [i, agentId] of AGENTS.entries()) {
        const client = clients[stopped ? 0 : i % 2]!;
        const md = await bearer(SECRET, tenant, 'agent', agentId);
        const { offers } = await rpc<{ offers: { offer_id: string; queue_id: string }[] }>(client, 'ListOffers', { queue_ids: ['support'] }, md);
        for (const o of offers) await rpc(client, 'AcceptOffer', { queue_id: o.queue_id, offer_id: o.offer_id }, md).catch(() => undefined);
      }
      const owners = await assignedOf();
      const done = [...owners.values()].filter((a) => a.length > 0).length;
      if (!stopped && done >= 8) {
        // One instance stops: its partitions move to the other, which goes on from the log.
        await instances[1]!.close();
        stopped = true;
      }
      for (const [id, agents] of owners) {
        if (agents.length === 0 || resolved.has(id)) continue;
        resolved.add(id);
        await conversations.handle(
          streams.conversation(tenant, id),
          { type: 'Resolve', by: { kind: 'agent', agentId: agents[0]! }, at: new Date().toISOString() },
          { tenantId: tenant, metadata: { subjectId: id } },
        );
      }
      if (done === CONVERSATIONS) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const c of clients) c.close();
    assert.ok(stopped, 'an instance stopped in the middle');
    const owners = await assignedOf();
    for (const [id, agents] of owners) assert.equal(agents.length, 1, `${id} assigned once, got ${agents.join(',') || 'none'}`);

    // Capacity: replay the conversations' assignments and resolutions in log order.
    const live = new Map<string, number>();
    let max = 0;
    let after = 0;
    for (;;) {
      const page = await storage.raw.readAll({ after, limit: 1000 });
      for (const e of page.events) {
        if (e.tenantId !== tenant || !e.streamId.startsWith('conversation-')) continue;
        const agentId = (e.data as { agentId?: string }).agentId;
        if (e.type === 'conversation.assigned' && agentId) live.set(agentId, (live.get(agentId) ?? 0) + 1);
        if (e.type === 'conversation.resolved') {
          const owner = owners.get(e.streamId.slice(`conversation-${tenant}-`.length))?.[0];
          if (owner) live.set(owner, (live.get(owner) ?? 0) - 1);
        }
        max = Math.max(max, ...live.values());
      }
      after = page.checkpoint;
      if (page.events.length === 0) break;
    }
    assert.ok(max <= CAPACITY, `an agent held ${max} live chats at once`);
    const routing = await storage.log.readStream(streams.routing(tenant, 'support'));
    const offered = new Set(routing.filter((e) => e.type === 'routing.offered').map((e) => (e.data as { conversationId: string }).conversationId));
    assert.equal(offered.size, CONVERSATIONS, 'every conversation was offered');
  });
});
