import type { Server } from 'node:http';
import {
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type ExceptionFilter,
  type INestApplication,
  type INestMicroservice,
  type OnApplicationShutdown,
  type Provider,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { CustomTransportStrategy } from '@nestjs/microservices';
import { ObservabilityModule, PinoNestLogger, type HealthRegistry, type Logger, type Registry } from '@parley/observability';
import type { GrpcHandlers } from '../grpc.server';
import type { ParleyServiceName } from '../proto.loader';
import { grpcServiceController } from './grpc-service.controller';
import { ParleyGrpcTransport, type GrpcTransportOptions } from './grpc.transport';

/** What a service does around Nest's shutdown: before its ports close, and after. */
export interface ServiceShutdown {
  /** Stop taking new work (the ports are still open): end live sessions, say not ready. */
  readonly beforePortsClose?: () => Promise<void>;
  /** Finish and stop the background work (consumers, projections), then close the stores. */
  readonly afterPortsClose: () => Promise<void>;
}

const SERVICE_SHUTDOWN = Symbol('SERVICE_SHUTDOWN');

/** Nest's shutdown hooks, in order: not ready and drained gRPC first; background work and stores last. */
@Injectable()
class ServiceLifecycle implements BeforeApplicationShutdown, OnApplicationShutdown {
  readonly transports: ParleyGrpcTransport[] = [];

  constructor(@Inject(SERVICE_SHUTDOWN) private readonly shutdown: ServiceShutdown & { health: HealthRegistry; drainMs: number }) {}

  async beforeApplicationShutdown(): Promise<void> {
    this.shutdown.health.markShuttingDown();
    await this.shutdown.beforePortsClose?.();
    // Nest's own close of the gRPC server would wait for watch streams without end.
    await Promise.all(this.transports.map((t) => t.drain(this.shutdown.drainMs)));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.shutdown.afterPortsClose();
  }
}

export interface ServiceApplicationOptions extends ServiceShutdown {
  readonly logger: Logger;
  readonly registry: Registry;
  readonly health: HealthRegistry;
  /** The parley.v1 services this application serves over gRPC, with the handlers their edge classes build. */
  readonly grpc?: readonly { readonly service: ParleyServiceName; readonly handlers: GrpcHandlers }[];
  readonly controllers?: readonly Type<unknown>[];
  readonly providers?: readonly Provider[];
  readonly imports?: readonly (Type<unknown> | DynamicModule)[];
  /** How long in-flight gRPC calls get to finish on shutdown. */
  readonly drainMs?: number;
  readonly rawBody?: boolean;
  /** False: Nest registers no body parsers; the service registers its own (routes that read their body as a stream). */
  readonly bodyParser?: boolean;
}

/**
 * A Parley service as a Nest application: HTTP controllers (with /healthz, /readyz and
 * /metrics), gRPC methods through Nest's gRPC transport, consumers through Nest
 * transports, and the shutdown hooks that stop them in order.
 */
export class ServiceApplication {
  private constructor(
    readonly app: INestApplication,
    private readonly lifecycle: ServiceLifecycle,
  ) {}

  static async create(options: ServiceApplicationOptions): Promise<ServiceApplication> {
    const shutdown = { ...options, drainMs: options.drainMs ?? 10_000 };
    @Module({
      imports: [ObservabilityModule.forRoot({ registry: options.registry, health: options.health }), ...(options.imports ?? [])],
      controllers: [...(options.grpc ?? []).map((g) => grpcServiceController(g.service, g.handlers)), ...(options.controllers ?? [])],
      providers: [{ provide: SERVICE_SHUTDOWN, useValue: shutdown }, ServiceLifecycle, ...(options.providers ?? [])],
    })
    class ServiceModule {}
    const app = await NestFactory.create(ServiceModule, {
      logger: new PinoNestLogger(options.logger),
      ...(options.rawBody ? { rawBody: true } : {}),
      ...(options.bodyParser === false ? { bodyParser: false } : {}),
    });
    return new ServiceApplication(app, app.get(ServiceLifecycle));
  }

  /** Serves HTTP; returns the bound port. */
  async listen(port: number, host: string): Promise<number> {
    await this.app.listen(port, host);
    return ((this.app.getHttpServer() as Server).address() as { port: number }).port;
  }

  /** Starts the gRPC port (once the service can answer from complete state); every service on it SERVING. */
  async serveGrpc(options: GrpcTransportOptions): Promise<ParleyGrpcTransport> {
    const transport = new ParleyGrpcTransport(options);
    await this.connect(transport);
    this.lifecycle.transports.push(transport);
    transport.serving(true);
    return transport;
  }

  /** Starts another Nest transport (the bus's consumers) over this application's controllers. */
  async connect(strategy: CustomTransportStrategy, options: { filters?: readonly ExceptionFilter[] } = {}): Promise<void> {
    await this.app.init();
    // Deferred, so the filters are in place before Nest builds the handlers; the
    // application's init hooks have run already and must not run twice.
    const microservice = this.app.connectMicroservice({ strategy }, { deferInitialization: true }) as INestMicroservice & {
      setIsInitHookCalled(called: boolean): void;
    };
    microservice.setIsInitHookCalled(true);
    if (options.filters) microservice.useGlobalFilters(...options.filters);
    await microservice.listen();
  }

  /** Nest's shutdown: the hooks above, then the ports and transports close. */
  close(): Promise<void> {
    return this.app.close();
  }
}
