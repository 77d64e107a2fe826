import { readFileSync } from 'node:fs';
import { ServerCredentials, type Metadata, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { RpcException } from '@nestjs/microservices';
import { Observable } from 'rxjs';
import { counter, createLogger, defaultRegistry, histogram, type Logger, type Registry, contextFrom, inSpan, withLogFields } from '@parley/observability';
import { PermissionDeniedError, type Caller, type Role, type TokenVerifier } from './caller.auth';
import { toGrpcError } from './grpc-status.mapper';

/** What Nest's gRPC transport calls for a unary method: (request, metadata, call). */
export type GrpcUnaryHandler<Req, Res> = (request: Req, metadata: Metadata, call?: ServerUnaryCall<Req, Res>) => Promise<Res>;
/** What Nest's gRPC transport calls for a server-streaming method; it writes what the observable emits and ends the call. */
export type GrpcStreamHandler<Req, Res> = (request: Req, metadata: Metadata, call: ServerWritableStream<Req, Res>) => Observable<Res>;
/** A service's handlers by rpc name, as the edge builds them. */
export type GrpcHandlers = Readonly<Record<string, GrpcUnaryHandler<never, unknown> | GrpcStreamHandler<never, unknown>>>;

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

  /** A unary handler for a Nest `@GrpcMethod`: resolves with the response, or fails with the mapped gRPC status. */
  unary<Req, Res>(
    method: string,
    roles: readonly Role[],
    handler: (request: Req, caller: Caller, metadata: Metadata) => Promise<Res>,
  ): GrpcUnaryHandler<Req, Res> {
    return (request, metadata) => {
      const started = process.hrtime.bigint();
      return inSpan(`parley.v1/${method}`, 'server', contextFrom(metadata.getMap()), async () => {
        try {
          const caller = await this.authorize(metadata, method, roles);
          const response = await withLogFields({ tenant_id: caller.tenantId }, () => handler(request, caller, metadata));
          this.done(method, 'OK', started);
          return response;
        } catch (error) {
          // Nest's gRPC transport hands an RpcException's object to grpc-js as the call's status.
          throw new RpcException(this.fail(method, error, started));
        }
      });
    };
  }

  /**
   * A server-streaming handler for a Nest `@GrpcMethod`. The handler writes to the
   * call itself, waiting for 'drain' (back-pressure); the observable completes when
   * it returns, and Nest then ends the call, or fails it with the mapped status.
   */
  serverStream<Req, Res>(
    method: string,
    roles: readonly Role[],
    handler: (request: Req, caller: Caller, call: ServerWritableStream<Req, Res>) => Promise<void>,
  ): GrpcStreamHandler<Req, Res> {
    return (request, metadata, call) =>
      new Observable<Res>((subscriber) => {
        const started = process.hrtime.bigint();
        void inSpan(`parley.v1/${method}`, 'server', contextFrom(metadata.getMap()), async () => {
          try {
            const caller = await this.authorize(metadata, method, roles);
            await withLogFields({ tenant_id: caller.tenantId }, () => handler(request, caller, call));
            this.done(method, 'OK', started);
            subscriber.complete();
          } catch (error) {
            subscriber.error(new RpcException(Object.assign(new Error(), this.fail(method, error, started))));
          }
        });
      });
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
