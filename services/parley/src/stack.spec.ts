import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { call, client, startStack, stopStack } from './testing/stack.process';
import { alertExpressions, dashboardQueries, exportedSeriesNames, metricNamesIn } from '@parley/deployment';
import { infrastructure, promtoolProblems, waitFor } from '@parley/testing-support';
import WebSocket from 'ws';

describe('npm run stack (four service processes over Kafka and FerretDB)', () => {
  it('starts every service in its own process, carries a visitor message to an offer through Kafka, and stops them all on SIGTERM', async () => {
    const { kafkaBrokers, mongoUrl } = infrastructure();
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-stack-'));
    // One of each here; stack.replicas.spec runs two of each and kills them.
    const stack = await startStack({
      kafkaBrokers,
      mongoUrl,
      database: `stack_${process.pid}_${Date.now()}`,
      dataDir,
      appSecret: randomBytes(16).toString('hex'),
      replicas: 1,
      env: { PARLEY_ROUTING_TICK_MS: '300' },
    });
    const { child } = stack;
    const out = stack.output();
    try {
      const address = (name: string) => new RegExp(`^  ${name}\\s+(\\S+)`, 'm').exec(out)![1]!;
      const tokens = Object.fromEntries([...out.matchAll(/^ {2}(\S+)(?: \(agent\))?\s+(eyJ\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
      // Each service answers on its own health port: four processes, not one.
      const health = [...out.matchAll(/health on (http:\/\/\S+)\/readyz/g)].map((m) => m[1]!);
      assert.equal(new Set(health).size, 3);
      for (const h of health) assert.equal((await fetch(`${h}/readyz`)).status, 200);
      // Every service's metrics follow Prometheus's conventions (promtool check metrics).
      const channelsBase = /channels\s+(http:\/\/[^\s,]+)/.exec(out)![1]!;
      const exported = new Set<string>();
      for (const h of [...health, channelsBase]) {
        const exposition = await (await fetch(`${h}/metrics`)).text();
        assert.match(exposition, /^parley_/m, `${h} exposes Parley metrics`);
        assert.deepEqual(await promtoolProblems(exposition), [], `promtool on ${h}/metrics`);
        for (const name of exportedSeriesNames(exposition)) exported.add(name);
      }
      // Every metric a dashboard or an alert reads is exported by one of the four services.
      const read = [...dashboardQueries(), ...alertExpressions()].flatMap((q) =>
        metricNamesIn(q.expr).map((name) => ({ name, where: 'alert' in q ? q.alert : `${q.dashboard}: ${q.panel}` })),
      );
      assert.ok(read.length > 50);
      assert.deepEqual(
        read.filter((r) => !exported.has(r.name)),
        [],
        'metrics read by dashboards and alerts but exported by no service',
      );

      const availability = client('AvailabilityService', address('availability'));
      const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((weekday) => ({
        weekday,
        slots: [
          { from: '00:00', to: '12:00' },
          { from: '12:00', to: '00:00' },
        ],
      }));
      await call(availability, 'SetBusinessHours', { queue_id: 'support', time_zone: 'Europe/Berlin', days }, tokens['supervisor']!);
      await call(availability, 'SetPresence', { presence: 'PRESENCE_ONLINE' }, tokens['demo-agent-1']!);
      const channels = /channels\s+(http:\/\/[^\s,]+)/.exec(out)![1]!;
      const { token } = (await (
        await fetch(`${channels}/live/visitors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ tenant: 'demo' }) })
      ).json()) as { token: string };
      const ws = new WebSocket(`${channels.replace('http', 'ws')}/live?token=${token}`);
      const ready = await new Promise<{ conversationId: string }>((resolve, reject) => {
        ws.on('message', (data: Buffer) => {
          const m = JSON.parse(data.toString()) as { type: string; conversationId: string };
          if (m.type === 'ready') resolve(m);
        });
        ws.once('error', reject);
      });
      ws.send(JSON.stringify({ type: 'message', id: 'stack-1', text: 'hello across processes' }));
      // Ingress appends; the log's events reach Kafka; routing, in another process, offers the conversation.
      const routing = client('RoutingService', address('routing'));
      const offers = await waitFor(
        async () => (await call<{ offers: { conversation_id: string }[] }>(routing, 'ListOffers', { queue_ids: ['support'] }, tokens['demo-agent-1']!)).offers,
        (o) => o.some((x) => x.conversation_id === ready.conversationId),
        { what: 'the offer, through Kafka', timeoutMs: 30_000 },
      );
      assert.equal(offers.filter((x) => x.conversation_id === ready.conversationId).length, 1);
      ws.close();
      availability.close();
      routing.close();

      child.kill('SIGTERM');
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      assert.equal(code, 0);
      for (const h of health)
        assert.equal(
          await fetch(`${h}/healthz`).then(
            () => 'up',
            () => 'down',
          ),
          'down',
          'every service stopped',
        );
    } finally {
      // Whatever happened above, no service outlives the test.
      await stopStack(child);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
