import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, register as globalRegistry } from 'prom-client';

export { Registry } from 'prom-client';

/**
 * Libraries register their metrics on whatever registry the process uses, and a
 * process may build several adapters of one kind (tests do): asking twice for the
 * same metric returns the one already registered instead of throwing.
 */
export function histogram<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[]; buckets?: number[] },
): Histogram<L> {
  return (registry.getSingleMetric(config.name) as Histogram<L> | undefined) ?? new Histogram<L>({ ...config, registers: [registry] });
}

export function counter<L extends string>(registry: Registry, config: { name: string; help: string; labelNames?: readonly L[] }): Counter<L> {
  return (registry.getSingleMetric(config.name) as Counter<L> | undefined) ?? new Counter<L>({ ...config, registers: [registry] });
}

export function gauge<L extends string>(
  registry: Registry,
  config: { name: string; help: string; labelNames?: readonly L[]; collect?: (this: Gauge<L>) => void | Promise<void> },
): Gauge<L> {
  return (registry.getSingleMetric(config.name) as Gauge<L> | undefined) ?? new Gauge<L>({ ...config, registers: [registry] });
}

export function defaultRegistry(): Registry {
  return globalRegistry;
}

let defaultsCollected = false;
/** Process metrics (CPU, memory, event loop lag, GC) once per process. */
export function collectProcessMetrics(registry: Registry = globalRegistry): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: registry });
  // prom-client also exports these three gauges with a `_total` suffix, which
  // Prometheus reserves for counters (`promtool check metrics` refuses them); the
  // same values stay available without the suffix (nodejs_active_handles, ...).
  for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) registry.removeSingleMetric(name);
}
