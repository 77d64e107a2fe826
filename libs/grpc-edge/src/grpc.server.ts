import { readFileSync } from 'node:fs';
import {
  Server,
  ServerCredentials,
  type Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { counter, createLogger, defaultRegistry, histogram, type Logger, type Registry, contextFrom, inSpan, withLogFields } from '@parley/observability';
import { PermissionDeniedError, type Caller, type Role, type TokenVerifier } from './caller.auth';
import { toGrpcError } from './grpc-status.mapper';
import { reflectionDefinition } from './reflection.descriptors';

export interface TlsOptions {
  readonly certFile: string;
  readonly keyFile: string;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  readonly clientCaFile?: string;
}

export function serverCredentials(tls?: TlsOptions): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCaFile ? readFileSync(tls.clientCaFile) : null,
    [{ cert_chain: readFileSync(tls.certFile), private_key: readFileSync(tls.keyFile) }],
    tls.clientCaFile !== undefined,
  );
}

/**
 * Wraps handlers with what every public method needs: the caller from the
 * bearer token, the role check, the error mapping, logs without personal data,
 * and latency and status metrics by method.
 */
export class GrpcEdge {
  private readonly logger: Logger;
  private readonly handled;
  private readonly seconds;

  constructor(
    private readonly verifier: TokenVerifier,
    options: { logger?: Logger; registry?: Registry } = {},
  ) {
    this.logger = options.logger ?? createLogger('grpc');
    const registry = options.registry ?? defaultRegistry();
    this.handled = counter(registry, {
      name: 'parley_grpc_server_handled_total',
      help: 'gRPC calls completed, by method and status code.',
      labelNames: ['method', 'code'] as const,
    });
    this.seconds = histogram(registry, {
      name: 'parley_grpc_server_handling_seconds',
      help: 'gRPC call latency by method.',
      labelNames: ['method'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
  }

  unary<Req, Res>(
    method: string,
    roles: readonly Role[],
    handler: (request: Req, caller: Caller, metadata: Metadata) => Promise<Res>,
  ): handleUnaryCall<Req, Res> {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      const started = process.hrtime.bigint();
      void inSpan(`parley.v1/${method}`, 'server', contextFrom(call.metadata.getMap()), async () => {
        try {
          const caller = await this.authorize(call.metadata, method, roles);
          const response = await withLogFields({ tenant_id: caller.tenantId }, () => handler(call.request, caller, call.metadata));
          this.done(method, 'OK', started);
          callback(null, response);
        } catch (error) {
          const mapped = this.fail(method, error, started);
          callback(mapped);
        }
      });
    };
  }

  serverStream<Req, Res>(
    method: string,
    roles: readonly Role[],
    handler: (request: Req, caller: Caller, call: ServerWritableStream<Req, Res>) => Promise<void>,
  ): handleServerStreamingCall<Req, Res> {
    return (call) => {
      const started = process.hrtime.bigint();
      void inSpan(`parley.v1/${method}`, 'server', contextFrom(call.metadata.getMap()), async () => {
        try {
          const caller = await this.authorize(call.metadata, method, roles);
          await withLogFields({ tenant_id: caller.tenantId }, () => handler(call.request, caller, call));
          this.done(method, 'OK', started);
          call.end();
        } catch (error) {
          // 'error' makes grpc-js end the call with this status; destroy() would close it with none.
          if (!call.destroyed) call.emit('error', Object.assign(new Error(), this.fail(method, error, started)));
        }
      });
    };
  }

  private async authorize(metadata: Metadata, method: string, roles: readonly Role[]): Promise<Caller> {
    const caller = await this.verifier.verify(metadata.get('authorization')[0]?.toString());
    if (!roles.includes(caller.role)) throw new PermissionDeniedError(caller.role, method);
    return caller;
  }

  private done(method: string, code: string, started: bigint): void {
    this.handled.inc({ method, code });
    this.seconds.observe({ method }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  private fail(method: string, error: unknown, started: bigint) {
    const mapped = toGrpcError(error);
    if (mapped.internal)
      this.logger.error({ method, err: error instanceof Error ? { type: error.name, stack: error.stack } : String(error) }, 'internal error');
    this.done(method, String(mapped.grpc.code), started);
    return mapped.grpc;
  }
}

export interface RunningGrpcServer {
  readonly server: Server;
  readonly port: number;
  readonly health: HealthImplementation;
  /** Stops taking calls, lets those in flight finish (up to the timeout), then closes. */
  close(timeoutMs?: number): Promise<void>;
}

/** Starts a gRPC server with the given services, gRPC server reflection and grpc.health.v1. */
export async function startGrpcServer(options: {
  readonly address: string;
  readonly services: readonly { readonly name: string; readonly definition: ServiceDefinition; readonly implementation: UntypedServiceImplementation }[];
  readonly tls?: TlsOptions;
}): Promise<RunningGrpcServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  for (const s of options.services) server.addService(s.definition, s.implementation);
  const health = new HealthImplementation({ '': 'NOT_SERVING', ...Object.fromEntries(options.services.map((s) => [s.name, 'NOT_SERVING'])) });
  health.addToServer(server);
  // Reflection lists only what this port serves: a client never discovers a service that answers UNIMPLEMENTED.
  new ReflectionService(reflectionDefinition(), { services: [...options.services.map((s) => s.name), 'grpc.health.v1.Health'] }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, serverCredentials(options.tls), (error, p) => (error ? reject(error) : resolve(p))),
  );
  return {
    server,
    port,
    health,
    close: (timeoutMs = 10_000) =>
      new Promise<void>((resolve) => {
        for (const s of ['', ...options.services.map((x) => x.name)]) health.setStatus(s, 'NOT_SERVING');
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, timeoutMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
