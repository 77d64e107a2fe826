import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { credentials, makeClientConstructor, type ChannelCredentials } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { HealthRegistry, Registry, createLogger } from '@parley/observability';
import type { ParleyGrpcTransport } from './nest/grpc.transport';
import { ServiceApplication } from './nest/service.application';

/** A throw-away CA with a server and a client certificate, made by openssl. */
function certificates(dir: string) {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=parley-test-ca', '-keyout', 'ca.key', '-out', 'ca.crt');
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const who of ['server', 'client']) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${who}`, '-keyout', `${who}.key`, '-out', `${who}.csr`);
    run(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-out',
      `${who}.crt`,
      ...(who === 'server' ? ['-extfile', 'server.ext'] : []),
    );
  }
  const read = (f: string) => readFileSync(join(dir, f));
  return { ca: read('ca.crt'), clientKey: read('client.key'), clientCert: read('client.crt'), file: (f: string) => join(dir, f) };
}

function check(port: number, creds: ChannelCredentials): Promise<string> {
  const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
  const client = new Health(`127.0.0.1:${port}`, creds);
  return new Promise<string>((resolve, reject) =>
    (client as unknown as Record<string, (r: unknown, o: unknown, cb: (e: Error | null, r?: { status: string }) => void) => void>)['check']!.call(
      client,
      { service: '' },
      { deadline: Date.now() + 3000 },
      (e, r) => (e ? reject(e) : resolve(r!.status)),
    ),
  ).finally(() => client.close());
}

describe('gRPC over TLS and mutual TLS', () => {
  let dir: string;
  let certs: ReturnType<typeof certificates>;
  let app: ServiceApplication;
  let tls: ParleyGrpcTransport;
  let mtls: ParleyGrpcTransport;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'parley-tls-'));
    certs = certificates(dir);
    app = await ServiceApplication.create({
      logger: createLogger('test'),
      registry: new Registry(),
      health: new HealthRegistry(),
      afterPortsClose: async () => undefined,
    });
    tls = await app.serveGrpc({ address: '127.0.0.1:0', services: [], tls: { certFile: certs.file('server.crt'), keyFile: certs.file('server.key') } });
    mtls = await app.serveGrpc({
      address: '127.0.0.1:0',
      services: [],
      tls: { certFile: certs.file('server.crt'), keyFile: certs.file('server.key'), clientCaFile: certs.file('ca.crt') },
    });
  });
  after(async () => {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves TLS to a client that trusts the CA, and refuses plaintext', async () => {
    assert.equal(await check(tls.port, credentials.createSsl(certs.ca)), 'SERVING');
    await assert.rejects(check(tls.port, credentials.createInsecure()));
  });

  it('with a client CA, serves only clients with a certificate it signed', async () => {
    assert.equal(await check(mtls.port, credentials.createSsl(certs.ca, certs.clientKey, certs.clientCert)), 'SERVING');
    await assert.rejects(check(mtls.port, credentials.createSsl(certs.ca)), 'no client certificate');
  });
});
