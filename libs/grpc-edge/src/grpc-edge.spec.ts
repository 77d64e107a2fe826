import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { afterAll as after, beforeAll as before, describe, it } from '@jest/globals';
import { Metadata, credentials, loadPackageDefinition, makeClientConstructor, status, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { SignJWT } from 'jose';
import { InvalidArgumentError, ParleyError } from '@parley/errors';
import { HealthRegistry, Registry, createLogger } from '@parley/observability';
import { service as healthService } from 'grpc-health-check';
import { TokenVerifier, type Role } from './caller.auth';
import { GrpcEdge } from './grpc.server';
import type { ParleyGrpcTransport } from './nest/grpc.transport';
import { ServiceApplication } from './nest/service.application';
import { fieldViolationsOf } from './grpc-status.mapper';
import { parleyService } from './proto.loader';

const SECRET = 'test-secret-of-at-least-32-bytes-long!!';
const token = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('agent-7')
    .setIssuedAt()
    .setExpirationTime('5m')
    .setAudience('parley')
    .sign(new TextEncoder().encode(secret));

class ConflictError extends ParleyError {
  readonly code = 'SOMETHING_CONFLICTED';
  readonly category = 'conflict' as const;
}

type Callable = (req: unknown, md: Metadata, cb: (e: ServiceError | null, r?: unknown) => void) => void;
function call(client: Client, method: string, request: unknown, metadata = new Metadata()): Promise<unknown> {
  return new Promise((resolve, reject) =>
    (client as unknown as Record<string, Callable>)[method]!.call(client, request, metadata, (e, r) => (e ? reject(e) : resolve(r))),
  );
}
async function bearer(claims: Record<string, unknown>, secret?: string): Promise<Metadata> {
  const md = new Metadata();
  md.set('authorization', `Bearer ${await token(claims, secret)}`);
  return md;
}

describe('gRPC edge: auth, errors, reflection, health', () => {
  let app: ServiceApplication;
  let running: ParleyGrpcTransport;
  let conversations: Client;
  const seen: { tenant: string; role: Role }[] = [];

  before(async () => {
    const edge = new GrpcEdge(new TokenVerifier({ keys: ['an-old-rotated-secret-of-32-bytes!!!', SECRET], audience: 'parley' }), { registry: new Registry() });
    const Conversations = parleyService('ConversationService');
    const registry = new Registry();
    app = await ServiceApplication.create({
      logger: createLogger('test'),
      registry,
      health: new HealthRegistry(),
      afterPortsClose: async () => undefined,
      grpc: [
        {
          service: 'ConversationService',
          handlers: {
            GetConversation: edge.unary('GetConversation', ['agent', 'supervisor'], async (req: { conversation_id: string }, caller) => {
              seen.push({ tenant: caller.tenantId, role: caller.role });
              if (req.conversation_id === '') throw new InvalidArgumentError('invalid request', [{ field: 'conversation_id', description: 'required' }]);
              if (req.conversation_id === 'conflict') throw new ConflictError('try again');
              if (req.conversation_id === 'boom') throw new Error('database password is hunter2');
              return { conversation: { id: req.conversation_id, customer_id: 'c', status: 'CONVERSATION_STATUS_OPEN' } };
            }),
          },
        },
      ],
    });
    running = await app.serveGrpc({ address: '127.0.0.1:0', services: ['ConversationService'] });
    conversations = new Conversations(`127.0.0.1:${running.port}`, credentials.createInsecure());
  });
  after(async () => {
    conversations.close();
    await app.close();
  });

  it('serves a call with the tenant and role from the token', async () => {
    const response = (await call(conversations, 'GetConversation', { conversation_id: 'conv-1' }, await bearer({ tenant: 'brand-a', role: 'agent' }))) as {
      conversation: { id: string; status: string };
    };
    assert.equal(response.conversation.id, 'conv-1');
    assert.equal(response.conversation.status, 'CONVERSATION_STATUS_OPEN');
    assert.deepEqual(seen.at(-1), { tenant: 'brand-a', role: 'agent' });
  });

  it('refuses a missing, forged, tenant-less or role-less token with UNAUTHENTICATED, and a role not allowed with PERMISSION_DENIED', async () => {
    const cases: [Metadata, status][] = [
      [new Metadata(), status.UNAUTHENTICATED],
      [await bearer({ tenant: 'brand-a', role: 'agent' }, 'someone-elses-secret-of-32-bytes-long'), status.UNAUTHENTICATED],
      [await bearer({ role: 'agent' }), status.UNAUTHENTICATED],
      [await bearer({ tenant: 'brand-a', role: 'janitor' }), status.UNAUTHENTICATED],
      [await bearer({ tenant: 'brand-a', role: 'integration' }), status.PERMISSION_DENIED],
    ];
    for (const [md, expected] of cases) {
      await assert.rejects(call(conversations, 'GetConversation', { conversation_id: 'conv-1' }, md), (e: ServiceError) => e.code === expected);
    }
  });

  it('maps errors once: INVALID_ARGUMENT with field violations, ABORTED for conflicts, INTERNAL without the cause', async () => {
    const md = await bearer({ tenant: 'brand-a', role: 'supervisor' });
    await assert.rejects(call(conversations, 'GetConversation', { conversation_id: '' }, md), (e: ServiceError) => {
      assert.equal(e.code, status.INVALID_ARGUMENT);
      assert.deepEqual(fieldViolationsOf(e), [{ field: 'conversation_id', description: 'required' }]);
      assert.equal(e.metadata.get('parley-error-code')[0], 'INVALID_ARGUMENT');
      return true;
    });
    await assert.rejects(call(conversations, 'GetConversation', { conversation_id: 'conflict' }, md), (e: ServiceError) => e.code === status.ABORTED);
    await assert.rejects(
      call(conversations, 'GetConversation', { conversation_id: 'boom' }, md),
      (e: ServiceError) => e.code === status.INTERNAL && !e.details.includes('hunter2'),
    );
  });

  it('answers grpc.health.v1 and lists through server reflection only the services it serves', async () => {
    const Health = makeClientConstructor(healthService, 'grpc.health.v1.Health');
    const health = new Health(`127.0.0.1:${running.port}`, credentials.createInsecure());
    const checked = await new Promise<{ status: string }>((resolve, reject) =>
      (health as unknown as Record<string, (r: unknown, cb: (e: unknown, r: unknown) => void) => void>)['check']!.call(
        health,
        { service: 'parley.v1.ConversationService' },
        (e, r) => (e ? reject(e) : resolve(r as { status: string })),
      ),
    );
    assert.equal(checked.status, 'SERVING');
    health.close();

    const reflectionProto = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = loadPackageDefinition(loadSync(reflectionProto, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client } } };
    };
    const reflection = new pkg.grpc.reflection.v1.ServerReflection(`127.0.0.1:${running.port}`, credentials.createInsecure());
    const stream = (
      reflection as unknown as { ServerReflectionInfo: () => NodeJS.ReadWriteStream & { write(m: unknown): void; end(): void } }
    ).ServerReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      stream.on('data', (m: { list_services_response?: { service: { name: string }[] } }) =>
        resolve((m.list_services_response?.service ?? []).map((s) => s.name)),
      );
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.end();
    reflection.close();
    // Only what this server serves: a listed service never answers UNIMPLEMENTED.
    assert.deepEqual(names.sort(), ['grpc.health.v1.Health', 'parley.v1.ConversationService']);
  });
});

describe('gRPC edge on Nest: server streams and shutdown', () => {
  let app: ServiceApplication;
  let port: number;
  let stopped = 0;
  const entered = { slow: signal(), endless: signal() };

  function signal() {
    let fire: (() => void) | undefined;
    const fired = new Promise<void>((resolve) => (fire = resolve));
    return { fire: () => fire?.(), fired };
  }

  before(async () => {
    const edge = new GrpcEdge(new TokenVerifier({ keys: [SECRET], audience: 'parley' }), { registry: new Registry() });
    app = await ServiceApplication.create({
      logger: createLogger('test'),
      registry: new Registry(),
      health: new HealthRegistry(),
      drainMs: 1000,
      afterPortsClose: async () => {
        stopped += 1;
      },
      grpc: [
        {
          service: 'ConversationService',
          handlers: {
            // A call that takes 200 ms: under way when the application is told to close.
            GetConversation: edge.unary('GetConversation', ['agent'], async (req: { conversation_id: string }) => {
              entered.slow.fire();
              await new Promise((resolve) => setTimeout(resolve, 200));
              return { conversation: { id: req.conversation_id, customer_id: 'c', status: 'CONVERSATION_STATUS_OPEN' } };
            }),
          },
        },
        {
          service: 'EventService',
          handlers: {
            Subscribe: edge.serverStream('Subscribe', ['integration'], async (req: { after_position: number }, _caller, call) => {
              if (req.after_position < 0) throw new InvalidArgumentError('invalid request', [{ field: 'after_position', description: 'from 0 up' }]);
              if (req.after_position === 99) {
                // A watch that never ends by itself, as a live feed does.
                entered.endless.fire();
                await new Promise<void>((resolve) => call.on('cancelled', () => resolve()));
                return;
              }
              for (let p = req.after_position + 1; p <= req.after_position + 3; p++) call.write({ position: p, type: 'conversation.message-received' });
            }),
          },
        },
      ],
    });
    port = (await app.serveGrpc({ address: '127.0.0.1:0', services: ['ConversationService', 'EventService'] })).port;
  });

  function subscribe(request: unknown, md: Metadata) {
    const Events = parleyService('EventService');
    const client = new Events(`127.0.0.1:${port}`, credentials.createInsecure());
    const stream = (client as unknown as { Subscribe: (r: unknown, m: Metadata) => NodeJS.ReadableStream }).Subscribe(request, md);
    const received: { position: number }[] = [];
    const ended = new Promise<string>((resolve) => {
      stream.on('data', (m: { position: number }) => received.push(m));
      stream.on('error', (e: ServiceError) => resolve(`error ${e.code}`));
      stream.on('end', () => resolve('end'));
    }).finally(() => client.close());
    return { received, ended };
  }

  it('streams what the handler writes, then ends the call; a failure before writing ends it with the mapped status', async () => {
    const md = await bearer({ tenant: 'brand-a', role: 'integration' });
    const ok = subscribe({ after_position: 10 }, md);
    assert.equal(await ok.ended, 'end');
    assert.deepEqual(
      ok.received.map((m) => m.position),
      [11, 12, 13],
    );
    const bad = subscribe({ after_position: -1 }, md);
    assert.equal(await bad.ended, `error ${status.INVALID_ARGUMENT}`);
    const denied = subscribe({ after_position: 0 }, await bearer({ tenant: 'brand-a', role: 'agent' }));
    assert.equal(await denied.ended, `error ${status.PERMISSION_DENIED}`);
  });

  it('on close, finishes a call in flight, cuts a stream without end after the drain time, refuses new calls, and runs the shutdown hook once', async () => {
    const Conversations = parleyService('ConversationService');
    const client = new Conversations(`127.0.0.1:${port}`, credentials.createInsecure());
    const slow = call(client, 'GetConversation', { conversation_id: 'conv-slow' }, await bearer({ tenant: 'brand-a', role: 'agent' }));
    const endless = subscribe({ after_position: 99 }, await bearer({ tenant: 'brand-a', role: 'integration' }));
    await entered.slow.fired;
    await entered.endless.fired;
    await app.close();
    assert.equal(((await slow) as { conversation: { id: string } }).conversation.id, 'conv-slow');
    assert.match(await endless.ended, /^error /);
    assert.equal(stopped, 1);
    assert.match(await subscribe({ after_position: 0 }, await bearer({ tenant: 'brand-a', role: 'integration' })).ended, /^error /);
    client.close();
  });
});
