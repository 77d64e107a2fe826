import { Controller, Get, Global, Header, Inject, Module, Res, type DynamicModule } from '@nestjs/common';
import type { Response } from 'express';
import { Gauge, type Registry } from 'prom-client';
import { HealthRegistry } from '../health';

export const METRICS_REGISTRY = Symbol('METRICS_REGISTRY');

@Controller()
class HealthController {
  constructor(@Inject(HealthRegistry) private readonly health: HealthRegistry) {}

  @Get('healthz')
  live(@Res() res: Response): void {
    // A stuck or always-failing background loop fails liveness: the orchestrator restarts the process.
    const result = this.health.live();
    if (result.ok) res.status(200).json({ status: 'ok' });
    else res.status(503).json({ status: 'stuck', loops: Object.fromEntries(Object.entries(result.loops).filter(([, l]) => !l.ok)) });
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
    instrumentLoops(options.registry, options.health);
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

const WATCHED = Symbol.for('parley.watched-health-registries');

/**
 * parley_loop_seconds_since_progress{loop} and parley_loop_stuck{loop}, read at scrape
 * time from every health registry served with this metrics registry (npm start runs several).
 */
function instrumentLoops(registry: Registry, health: HealthRegistry): void {
  const holder = registry as unknown as { [WATCHED]?: Set<HealthRegistry> };
  const existing = holder[WATCHED];
  if (existing) return void existing.add(health);
  const watched = (holder[WATCHED] = new Set([health]));
  const loops = () => [...watched].flatMap((h) => Object.entries(h.live().loops));
  new Gauge({
    name: 'parley_loop_seconds_since_progress',
    help: 'Seconds since each background loop (projections, relay, dispatcher, consumers, sweeps) last got on.',
    labelNames: ['loop'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [loop, l] of loops()) this.set({ loop }, l.secondsSinceProgress);
    },
  });
  new Gauge({
    name: 'parley_loop_stuck',
    help: 'Background loops past their time without progress (1): liveness fails and the process is restarted.',
    labelNames: ['loop'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [loop, l] of loops()) this.set({ loop }, l.ok ? 0 : 1);
    },
  });
}
