import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Metadata, credentials, makeClientConstructor } from '@grpc/grpc-js';
import { parleyService } from '@parley/grpc-edge';
import { service as healthService } from 'grpc-health-check';
import WebSocket from 'ws';
import { promtoolProblems, waitFor } from '@parley/testing-support';
import { startEmbedded } from './testing/embedded.process';

const loadedAvailability = () => parleyService('AvailabilityService').service;

describe('npm start (the embedded process)', () => {
  it('serves health and metrics, and stops cleanly on SIGTERM', async () => {
    const parley = await startEmbedded({ PARLEY_LOG_LEVEL: 'info' });
    const out = () => parley.output();
    try {
      const base = parley.base;
      assert.deepEqual(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      assert.equal(ready.status, 200);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /^process_cpu_user_seconds_total/m);
      assert.match(metrics, /# TYPE parley_event_log_append_duration_seconds histogram/);
      assert.deepEqual(await promtoolProblems(metrics), [], 'promtool check metrics');
      // The services run inside: the public gRPC API answers its health check, the channels take a visitor.
      for (const name of ['gRPC API', 'availability', 'routing']) {
        const address = new RegExp(`^  ${name}\\s+(\\S+)`, 'm').exec(out())?.[1];
        assert.ok(address, `${name} address printed`);
        const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
        const client = new Health(address, credentials.createInsecure());
        const answer = await new Promise<{ status: string }>((resolve, reject) =>
          (client as unknown as Record<string, (r: unknown, cb: (e: Error | null, r?: { status: string }) => void) => void>)['check']!.call(
            client,
            { service: '' },
            (e, r) => (e ? reject(e) : resolve(r!)),
          ),
        );
        assert.equal(answer.status, 'SERVING', name);
        client.close();
      }
      // The demo tenant is there, and the printed tokens open the API.
      const token = /^ {2}supervisor\s+(\S+)$/m.exec(out())?.[1];
      assert.ok(token, 'a supervisor token printed');
      const Availability = makeClientConstructor(loadedAvailability(), 'parley.v1.AvailabilityService');
      const availability = new Availability(/^ {2}availability\s+(\S+)/m.exec(out())![1]!, credentials.createInsecure());
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      const offer = await new Promise<{ offer: { queue_id: string; live_chat: boolean; reason: string } }>((resolve, reject) =>
        (
          availability as unknown as Record<
            string,
            (r: unknown, m: Metadata, cb: (e: Error | null, r?: { offer: { queue_id: string; live_chat: boolean; reason: string } }) => void) => void
          >
        )['GetAvailability']!.call(availability, { queue_id: 'support' }, md, (e, r) => (e ? reject(e) : resolve(r!))),
      );
      assert.equal(offer.offer.queue_id, 'support');
      assert.equal(offer.offer.live_chat, false, 'no demo agent is online yet');
      assert.ok(['closed', 'no-agent-free'].includes(offer.offer.reason));
      availability.close();
      const channels = /channels\s+(http:\/\/\S+)\/webhooks/.exec(out())?.[1];
      const visitor = await fetch(`${channels}/live/visitors`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ tenant: 'demo' }),
      });
      assert.equal(visitor.status, 201);

      // End to end inside one process: a demo agent comes online, a visitor writes, routing offers it to the agent.
      const agentToken = /^ {2}demo-agent-1 \(agent\)\s+(\S+)$/m.exec(out())?.[1];
      const agentMd = new Metadata();
      agentMd.set('authorization', `Bearer ${agentToken}`);
      const call = <T>(client: unknown, method: string, request: unknown, m: Metadata) =>
        new Promise<T>((resolve, reject) =>
          (client as Record<string, (r: unknown, m: Metadata, cb: (e: Error | null, r?: T) => void) => void>)[method]!.call(client, request, m, (e, r) =>
            e ? reject(e) : resolve(r!),
          ),
        );
      const presence = new Availability(/^ {2}availability\s+(\S+)/m.exec(out())![1]!, credentials.createInsecure());
      await call(presence, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, agentMd);
      presence.close();
      const { token: visitorToken } = (await visitor.json()) as { token: string };
      const ws = new WebSocket(`${channels!.replace('http', 'ws')}/live?token=${visitorToken}`);
      await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
      ws.send(JSON.stringify({ type: 'message', id: 'hello-1', text: 'hello from the demo page' }));
      const Routing = makeClientConstructor(parleyService('RoutingService').service, 'parley.v1.RoutingService');
      const routing = new Routing(/^ {2}routing\s+(\S+)/m.exec(out())![1]!, credentials.createInsecure());
      const offers = await waitFor(
        async () =>
          (await call<{ offers: { offer_id: string; conversation_id: string }[] }>(routing, 'ListOffers', { queue_ids: ['support'] }, agentMd)).offers,
        (o) => o.length > 0,
        { what: 'the offer to demo-agent-1', timeoutMs: 15_000 },
      );
      const accepted = await call<{ conversation_id: string }>(routing, 'AcceptOffer', { queue_id: 'support', offer_id: offers[0]!.offer_id }, agentMd);
      assert.equal(accepted.conversation_id, offers[0]!.conversation_id);
      routing.close();
      ws.close();
      // Logs are JSON lines.
      const lines = out()
        .split('\n')
        .filter((l) => l.startsWith('{'));
      assert.ok(lines.length > 0 && lines.every((l) => typeof JSON.parse(l).level === 'string'));

      const exited = new Promise<number | null>((resolve) => parley.child.once('exit', (c) => resolve(c)));
      parley.child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(out(), /"msg":"stopped"/);
    } finally {
      await parley.stop();
    }
  });
});
