/**
 * Liveness says the process works at all; readiness says it should get traffic
 * now (connected, caught up, not shutting down). Components register checks;
 * the HTTP endpoints and grpc.health.v1 read the same registry.
 */
export type HealthCheck = () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };

export class HealthRegistry {
  private readonly readiness = new Map<string, HealthCheck>();
  private shuttingDown = false;

  addReadinessCheck(name: string, check: HealthCheck): void {
    this.readiness.set(name, check);
  }

  /** From the first SIGTERM on, readiness is false so that load balancers stop sending work. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async ready(): Promise<{ ok: boolean; checks: Record<string, { ok: boolean; detail?: string }> }> {
    const checks: Record<string, { ok: boolean; detail?: string }> = {};
    if (this.shuttingDown) checks['shutdown'] = { ok: false, detail: 'shutting down' };
    for (const [name, check] of this.readiness) {
      try {
        checks[name] = await check();
      } catch (error) {
        checks[name] = { ok: false, detail: (error as Error)?.message ?? 'failed' };
      }
    }
    return { ok: Object.values(checks).every((c) => c.ok), checks };
  }
}
