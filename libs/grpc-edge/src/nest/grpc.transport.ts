import { Server } from '@grpc/grpc-js';
import { ServerGrpc } from '@nestjs/microservices';
import type { PackageDefinition } from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { HealthImplementation } from 'grpc-health-check';
import { parleyPackageDefinition, acceptingSerialized, type ParleyServiceName } from '../proto.loader';
import { reflectionDefinition } from '../reflection.descriptors';
import { serverCredentials, type TlsOptions } from '../grpc.server';

// Attachments are uploaded in one message (at most 10 MiB of bytes, plus the request around them).
const MAX_RECEIVE_BYTES = 12 * 1024 * 1024;

export interface GrpcTransportOptions {
  readonly address: string;
  /** The parley.v1 services this port serves; reflection and health list these only. */
  readonly services: readonly ParleyServiceName[];
  /** Services whose handlers may answer with a response already encoded (a Buffer). */
  readonly serialized?: readonly ParleyServiceName[];
  readonly tls?: TlsOptions;
}

/**
 * Nest's gRPC transport for the parley.v1 services, with what every Parley port
 * adds: grpc.health.v1, server reflection from buf's descriptors (exact for
 * grpcurl), the bound port known (port 0 in tests), and a drain on shutdown
 * bounded in time (a watch stream never ends by itself).
 */
export class ParleyGrpcTransport extends ServerGrpc {
  readonly health: HealthImplementation;
  private bound: Server | null = null;
  private boundPort = 0;

  constructor(private readonly settings: GrpcTransportOptions) {
    super({
      url: settings.address,
      package: 'parley.v1',
      packageDefinition: servedPackage(settings.services, settings.serialized ?? []),
      credentials: serverCredentials(settings.tls),
      maxReceiveMessageLength: MAX_RECEIVE_BYTES,
    });
    this.health = new HealthImplementation({
      '': 'NOT_SERVING',
      ...Object.fromEntries(settings.services.map((s) => [`parley.v1.${s}`, 'NOT_SERVING'])),
    });
  }

  /** The port the server is bound to, once listening. */
  get port(): number {
    return this.boundPort;
  }

  /** Binds the server as Nest would, adding health and reflection and keeping the port. */
  override async createClient(): Promise<Server> {
    const server = new Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_BYTES });
    this.health.addToServer(server);
    const names = this.settings.services.map((s) => `parley.v1.${s}`);
    // Reflection lists only what this port serves: a client never discovers a service that answers UNIMPLEMENTED.
    new ReflectionService(reflectionDefinition(), { services: [...names, 'grpc.health.v1.Health'] }).addToServer(server);
    this.boundPort = await new Promise<number>((resolve, reject) =>
      server.bindAsync(this.settings.address, serverCredentials(this.settings.tls), (error, p) => (error ? reject(error) : resolve(p))),
    );
    this.bound = server;
    return server;
  }

  /** Every service of this port SERVING (or not) in grpc.health.v1. */
  serving(serving: boolean): void {
    for (const name of ['', ...this.settings.services.map((s) => `parley.v1.${s}`)]) this.health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
  }

  /** Stops taking calls and lets those in flight finish, for at most `timeoutMs`; then cuts what is left. */
  drain(timeoutMs = 10_000): Promise<void> {
    const server = this.bound;
    this.serving(false);
    if (!server) return Promise.resolve();
    this.bound = null;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, timeoutMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/** The parley.v1 package with only the given services (their messages all stay). */
function servedPackage(services: readonly ParleyServiceName[], serialized: readonly ParleyServiceName[]): PackageDefinition {
  const all = parleyPackageDefinition();
  const served = Object.entries(all).filter(([name, definition]) => {
    const isService = !('format' in definition);
    return !isService || services.some((s) => name === `parley.v1.${s}`);
  });
  return Object.fromEntries(
    served.map(([name, definition]) => [name, serialized.some((s) => name === `parley.v1.${s}`) ? acceptingSerialized(definition) : definition]),
  ) as PackageDefinition;
}
