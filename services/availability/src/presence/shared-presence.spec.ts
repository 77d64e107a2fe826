import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, type Client, type Metadata } from '@grpc/grpc-js';
import { MongoClient } from 'mongodb';
import { ALWAYS_OPEN, availabilityEnv, bearer as signedBearer, rpc } from '../testing/availability.fixture';
import { parleyService } from '@parley/grpc-edge';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { startAvailability, type RunningAvailability } from '../availability.app';
import { loadAvailabilityConfig } from '../config/availability.config';

const SECRET = 'shared-presence-test-secret-at-least-32-bytes';

const bearer = (tenant: string, role: string, subject: string) => signedBearer(SECRET, tenant, role, subject);
const AWAY_MS = 3000;
const OFFLINE_MS = 6000;

async function scrape(port: number, metric: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(metric));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : NaN;
}

describe('availability replicas share presence (Kafka, FerretDB)', () => {
  const { mongoUrl } = infrastructure();
  const database = uniqueName('parley_presence').replace(/-/g, '_');
  const env = availabilityEnv(database, SECRET, { awayMs: AWAY_MS, offlineMs: OFFLINE_MS });

  let first: RunningAvailability;
  let second: RunningAvailability;
  let toFirst: Client;
  let toSecond: Client;
  let firstClosed = false;
  const connect = (r: RunningAvailability) => new (parleyService('AvailabilityService'))(`127.0.0.1:${r.grpcPort}`, credentials.createInsecure());
  const live = async (client: Client, md: Metadata) =>
    (await rpc<{ offer: { live_chat: boolean } }>(client, 'GetAvailability', { queue_id: 'support' }, md)).offer.live_chat;

  before(async () => {
    // The first to start takes the presence-sweeper lease: it sweeps, the second only hears.
    first = await startAvailability(loadAvailabilityConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    second = await startAvailability(loadAvailabilityConfig(env), { registry: new Registry(), httpHost: '127.0.0.1' });
    toFirst = connect(first);
    toSecond = connect(second);
    const sup = await bearer('brand-s', 'supervisor', 'sup-1');
    await rpc(toFirst, 'SetBusinessHours', { queue_id: 'support', time_zone: 'UTC', days: ALWAYS_OPEN }, sup);
    await rpc(toFirst, 'SetCapacity', { agent_id: 'agent-1', live_chats: 2, messaging: 10, skills: [], languages: [] }, sup);
  });
  after(async () => {
    toFirst?.close();
    toSecond?.close();
    if (!firstClosed) await first?.close();
    await second?.close();
    const mongo = await MongoClient.connect(mongoUrl);
    await mongo.db(database).dropDatabase();
    await mongo.close();
  });

  it('keeps an agent online whose heartbeats reach only the replica that does not sweep, and the other takes the sweep over', async () => {
    assert.equal(await scrape(first.httpPort, 'parley_lease_held{lease="presence-sweeper"}'), 1, 'the first replica sweeps');
    assert.equal(await scrape(second.httpPort, 'parley_lease_held{lease="presence-sweeper"}'), 0);
    const agent = await bearer('brand-s', 'agent', 'agent-1');
    await rpc(toSecond, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, agent);
    await waitFor(
      () => live(toFirst, agent),
      (on) => on,
      { what: 'the agent online, as the sweeping replica sees it' },
    );
    // Longer than it takes to be turned offline: only the heartbeats heard by the other replica keep the agent online.
    const until = Date.now() + OFFLINE_MS + AWAY_MS;
    while (Date.now() < until) {
      await rpc(toSecond, 'Heartbeat', {}, agent);
      assert.equal(await live(toFirst, agent), true, 'turned away though its heartbeats went on');
      await new Promise((r) => setTimeout(r, 300));
    }
    // The sweeper stops (its lease given back); the other replica takes the sweep and, with no more heartbeats, turns the agent away.
    await first.close();
    firstClosed = true;
    await waitFor(
      () => scrape(second.httpPort, 'parley_lease_held{lease="presence-sweeper"}'),
      (held) => held === 1,
      { what: 'the second replica holding the presence sweep', timeoutMs: 30_000 },
    );
    await waitFor(
      () => live(toSecond, agent),
      (on) => !on,
      { what: 'the lost heartbeat, swept by the second replica', timeoutMs: 30_000 },
    );
  });
});
