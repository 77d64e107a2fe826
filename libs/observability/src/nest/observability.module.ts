import { Controller, Get, Global, Header, HttpCode, Inject, Module, Res, type DynamicModule } from '@nestjs/common';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { HealthRegistry } from '../health';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

@Controller()
class HealthController {
  constructor(@Inject(HealthRegistry) private readonly health: HealthRegistry) {}

  @Get('healthz')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async ready(@Res() res: Response): Promise<void> {
    const result = await this.health.ready();
    res.status(result.ok ? 200 : 503).json({ status: result.ok ? 'ready' : 'not-ready', checks: result.checks });
  }
}

@Controller()
class MetricsController {
  constructor(@Inject(METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}

/** /healthz, /readyz and /metrics for any Parley HTTP application. */
@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(options: { registry: Registry; health: HealthRegistry }): DynamicModule {
    return {
      module: ObservabilityModule,
      controllers: [HealthController, MetricsController],
      providers: [
        { provide: METRICS_REGISTRY, useValue: options.registry },
        { provide: HealthRegistry, useValue: options.health },
      ],
      exports: [METRICS_REGISTRY, HealthRegistry],
    };
  }
}
