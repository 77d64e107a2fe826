/**
 * Liveness says the process works at all; readiness says it should get traffic
 * now (connected, caught up, not shutting down). Components register checks;
 * the HTTP endpoints and grpc.health.v1 read the same registry.
 */
export type HealthCheck = () => Promise<{ ok: boolean; detail?: string }> | { ok: boolean; detail?: string };

/** What a background loop tells the registry each time it gets on (a page applied, an idle poll, a sweep done). */
export interface LoopProgress {
  beat(): void;
}

/**
 * How long a loop may go without progress before the process counts as stuck (liveness
 * fails, so it is restarted): PARLEY_LOOP_STUCK_AFTER_MS, 2 minutes by default.
 */
export function stuckAfterMs(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env['PARLEY_LOOP_STUCK_AFTER_MS'] ?? 120_000);
  return Number.isFinite(ms) && ms > 0 ? ms : 120_000;
}

export class HealthRegistry {
  private readonly readiness = new Map<string, HealthCheck>();
  private readonly loops = new Map<string, { stuckAfterMs: number; last: number }>();
  private shuttingDown = false;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * A background loop (projection, relay, dispatcher, consumer, sweep) to watch: it
   * beats whenever it gets on, idle included. One that has not beaten for
   * stuckAfterMs, stuck or failing every time, makes liveness fail.
   */
  loop(name: string, after: number = stuckAfterMs()): LoopProgress {
    const watched = { stuckAfterMs: after, last: this.now() };
    this.loops.set(name, watched);
    return { beat: () => void (watched.last = this.now()) };
  }

  /** Stops watching a loop (it was stopped on purpose). */
  forgetLoop(name: string): void {
    this.loops.delete(name);
  }

  /** Liveness: every watched loop got on within its time. */
  live(): { ok: boolean; loops: Record<string, { ok: boolean; secondsSinceProgress: number }> } {
    const now = this.now();
    const loops: Record<string, { ok: boolean; secondsSinceProgress: number }> = {};
    for (const [name, l] of this.loops) loops[name] = { ok: now - l.last <= l.stuckAfterMs, secondsSinceProgress: Math.round((now - l.last) / 100) / 10 };
    return { ok: Object.values(loops).every((l) => l.ok), loops };
  }

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
