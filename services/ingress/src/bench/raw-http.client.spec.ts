import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from '@jest/globals';
import { waitFor } from '@parley/testing-support';
import { RawHttpClient } from './raw-http.client';

/** A server that answers each POST with the status named in its body, after the delay named there. */
async function statusServer(
  options: { chunked?: boolean } = {},
): Promise<{ server: Server; port: number; seen: { connections: number; bodies: string[]; maxInFlight: number } }> {
  const seen = { connections: 0, bodies: [] as string[], maxInFlight: 0 };
  let inFlight = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    inFlight++;
    seen.maxInFlight = Math.max(seen.maxInFlight, inFlight);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      seen.bodies.push(body);
      const { status, delayMs } = JSON.parse(body) as { status: number; delayMs: number };
      setTimeout(() => {
        inFlight--;
        const text = JSON.stringify({ echoed: body.length });
        if (options.chunked) res.writeHead(status, { 'content-type': 'application/json' }).end(text);
        else res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      }, delayMs);
    });
  });
  server.on('connection', () => seen.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, seen };
}

const post = (status: number, delayMs = 0, padding = '') =>
  RawHttpClient.post('/webhooks/whatsapp', JSON.stringify({ status, delayMs, padding }), { 'x-hub-signature-256': 'sha256=00' });

describe('the benchmark load generator', () => {
  it('answers each request with its own status, one request at a time per connection, the rest waiting for a free one', async () => {
    const { server, port, seen } = await statusServer();
    const client = new RawHttpClient(port, 3);
    try {
      await client.open();
      const statuses = [200, 201, 400, 404, 500, 200, 202, 403];
      // A body larger than one TCP segment reads whole, too.
      const answers = await Promise.all(statuses.map((s, i) => client.send(post(s, 20, i === 0 ? 'x'.repeat(200_000) : ''))));
      assert.deepEqual(answers, statuses);
      assert.equal(seen.connections, 3);
      assert.equal(seen.maxInFlight, 3);
      assert.equal(seen.bodies.length, statuses.length);
      assert.deepEqual(
        seen.bodies
          .map((b) => (JSON.parse(b) as { padding: string }).padding.length)
          .sort((a, b) => b - a)
          .slice(0, 2),
        [200_000, 0],
      );
    } finally {
      client.close();
      server.close();
    }
  });

  it('replaces a connection the server closed while it was idle, and goes on', async () => {
    const { server, port, seen } = await statusServer();
    const client = new RawHttpClient(port, 2);
    try {
      await client.open();
      assert.deepEqual(await Promise.all([client.send(post(200)), client.send(post(201))]), [200, 201]);
      // As a server's keep-alive timeout does: both idle connections closed by it.
      server.closeIdleConnections();
      await waitFor(
        () => seen.connections,
        (n) => n === 4,
        { what: 'two new connections' },
      );
      assert.deepEqual(await Promise.all([client.send(post(202, 20)), client.send(post(203, 20)), client.send(post(204, 20))]), [202, 203, 204]);
      assert.equal(seen.connections, 4);
      assert.equal(seen.maxInFlight, 2);
    } finally {
      client.close();
      server.close();
    }
  });

  it('fails a request whose answer has no Content-Length, and the next one gets a new connection', async () => {
    const { server, port } = await statusServer({ chunked: true });
    const client = new RawHttpClient(port, 1);
    try {
      await client.open();
      await assert.rejects(client.send(post(200)), (e: Error & { code?: string }) => e.code === 'UNREADABLE_ANSWER' && /Content-Length/.test(e.message));
      await assert.rejects(client.send(post(200)), (e: Error & { code?: string }) => e.code === 'UNREADABLE_ANSWER');
    } finally {
      client.close();
      server.close();
    }
  });
});
