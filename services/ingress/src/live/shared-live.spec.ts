import assert from 'node:assert/strict';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import WebSocket from 'ws';
import { streams } from '@parley/contracts';
import { MongoEventLog } from '@parley/event-log';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { loadIngressConfig } from '../config/ingress.config';
import { startIngress, type RunningIngress } from '../ingress.app';
import { ferretStore, type StoreBackend } from '../testing/ingress.fixture';

type Wire = { type: string; [key: string]: unknown };

/** A widget tab: what it was told, in order. */
async function tab(port: number, token: string) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live?${new URLSearchParams({ token })}`);
  const got: Wire[] = [];
  ws.on('message', (raw) => got.push(JSON.parse(raw.toString()) as Wire));
  await new Promise<void>((resolve, reject) => (ws.once('open', () => resolve()), ws.once('error', reject)));
  const ready = (await waitFor(
    () => got.find((m) => m.type === 'ready'),
    (m) => m !== undefined,
    { what: 'ready', timeoutMs: 15_000 },
  )) as Wire & { sessionId: string; conversationId: string };
  return {
    ready,
    close: () => new Promise<void>((resolve) => (ws.readyState === ws.CLOSED ? resolve() : (ws.once('close', () => resolve()), ws.close()))),
  };
}

/**
 * Two ingress replicas on FerretDB and Kafka, as the load balancer spreads a
 * visitor's tabs over them: one live-chat session, ended once, by the replica
 * that lets go of it last; a replica's restart does not end the sessions of
 * visitors who come back to the other one, and ends those of visitors who do not.
 */
describe('ingress replicas share live-chat sessions (FerretDB, Kafka)', () => {
  const { kafkaBrokers, mongoUrl } = infrastructure();
  let backend: StoreBackend;
  let log: MongoEventLog;
  const replicas: RunningIngress[] = [];
  const registries = [new Registry(), new Registry()];
  const GRACE_MS = 1500;
  const env = () => ({
    ...backend.env,
    PARLEY_KAFKA_BROKERS: kafkaBrokers.join(','),
    PARLEY_KAFKA_NAMESPACE: `${uniqueName('live')}.`,
    PARLEY_INGRESS_HTTP_HOST: '127.0.0.1',
    PARLEY_INGRESS_HTTP_PORT: '0',
    PARLEY_LIVE_SESSION_GRACE_MS: String(GRACE_MS),
    PARLEY_LIVE_TENANTS: 'brand-a',
  });
  const sessionsHeld = async (i: number) => (await registries[i]!.getSingleMetric('parley_ingress_live_sessions')!.get()).values[0]?.value ?? 0;
  const sessionEvents = async (conversationId: string) =>
    (await log.readStream(streams.conversation('brand-a', conversationId)))
      .filter((e) => e.type === 'conversation.session-started' || e.type === 'conversation.session-ended')
      .map((e) => `${e.type.slice('conversation.'.length)} ${(e.data as { sessionId: string }).sessionId}`);
  const visitor = async (port: number) =>
    (
      (await (
        await fetch(`http://127.0.0.1:${port}/live/visitors`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ tenant: 'brand-a' }),
        })
      ).json()) as { token: string }
    ).token;

  before(async () => {
    backend = ferretStore();
    const shared = env();
    for (const registry of registries) replicas.push(await startIngress(loadIngressConfig(shared), { registry }));
    log = await MongoEventLog.connect(mongoUrl, backend.env['PARLEY_MONGO_DATABASE']!, { registry: new Registry() });
  });
  after(async () => {
    for (const r of replicas) await r.close().catch(() => undefined);
    await log?.close();
    await backend.cleanup();
  });

  it("keeps a visitor's tabs on two replicas in one session, ended once when the last tab is gone", async () => {
    const [a, b] = replicas;
    const token = await visitor(a!.httpPort);
    const first = await tab(a!.httpPort, token);
    const second = await tab(b!.httpPort, token);
    assert.equal(second.ready.sessionId, first.ready.sessionId, 'the tab on the other replica joins the session');
    const id = first.ready.conversationId;

    await first.close();
    // The first replica lets go after the grace period; the session goes on in the other tab.
    await waitFor(
      () => sessionsHeld(0),
      (n) => n === 0,
      { what: 'the first replica let go', timeoutMs: 15_000 },
    );
    assert.deepEqual(await sessionEvents(id), [`session-started ${first.ready.sessionId}`]);

    await second.close();
    const ended = await waitFor(
      () => sessionEvents(id),
      (events) => events.length === 2,
      { what: 'the session ended', timeoutMs: 15_000 },
    );
    assert.deepEqual(ended, [`session-started ${first.ready.sessionId}`, `session-ended ${first.ready.sessionId}`]);
  });

  it('keeps the session of a visitor who comes back on the other replica after a restart, and ends the one of a visitor who does not', async () => {
    const [a, b] = replicas;
    const returning = await visitor(a!.httpPort);
    const gone = await visitor(a!.httpPort);
    const before = await tab(a!.httpPort, returning);
    const left = await tab(a!.httpPort, gone);
    // The other replica hears of both before the first one stops.
    const elsewhere = async () => (await registries[1]!.getSingleMetric('parley_ingress_live_sessions_elsewhere')!.get()).values[0]?.value ?? 0;
    await waitFor(elsewhere, (n) => n >= 2, { what: 'the other replica told of both sessions' });
    await a!.close();
    replicas.shift();
    const after = await tab(b!.httpPort, returning);
    assert.equal(after.ready.sessionId, before.ready.sessionId, 'the widget reconnected to the other replica: same session');
    await waitFor(
      () => sessionEvents(left.ready.conversationId),
      (events) => events.includes(`session-ended ${left.ready.sessionId}`),
      { what: 'the abandoned session ended by the remaining replica', timeoutMs: 30_000 },
    );
    assert.deepEqual(await sessionEvents(before.ready.conversationId), [`session-started ${before.ready.sessionId}`], 'the returning visitor keeps it');
    await after.close();
  });
});
