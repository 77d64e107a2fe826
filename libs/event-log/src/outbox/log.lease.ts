import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { createLogger, defaultRegistry, gauge, type LoopProgress, type Logger, type Registry } from '@parley/observability';
import { WrongExpectedVersionError } from '../event-log.errors';
import type { EventLog } from '../event-log.port';

export interface LogLeaseOptions {
  readonly log: EventLog;
  /** What the lease is for, e.g. `outbox-sweeper`: one holder per name in the whole deployment. */
  readonly name: string;
  /** Who asks: unique per process; default `<host>/<pid>/<random>`. */
  readonly holder?: string;
  /** How long a holder keeps the lease without renewing. Default 20 s. */
  readonly ttlMs?: number;
  /** How often the holder renews and the others look. Default a third of the TTL. */
  readonly renewEveryMs?: number;
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Told after every look that reached the log (liveness). */
  readonly progress?: LoopProgress;
  readonly now?: () => number;
}

/**
 * One holder at a time for work that several replicas could do (the outbox
 * sweep), kept with nothing but inserts, as FerretDB allows: the lease is the
 * stream `parley-lease-<name>`; taking or renewing it is appending the next
 * version, so of two candidates looking at the same state only one succeeds.
 * A holder that stops renewing (killed) loses it once `until` has passed.
 *
 * Clocks of different machines set `until`, so a holder counts its own lease as
 * ended a margin (a tenth of the TTL) before the others do. Work under a lease
 * must still be safe to do twice: the lease keeps it from being done by all.
 */
export class LogLease {
  readonly holder: string;
  private readonly ttlMs: number;
  private readonly streamId: string;
  private readonly logger: Logger;
  private readonly now: () => number;
  private heldUntil = 0;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = true;
  private readonly heldGauge;

  constructor(private readonly options: LogLeaseOptions) {
    this.holder = options.holder ?? `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
    this.ttlMs = options.ttlMs ?? 20_000;
    this.streamId = `parley-lease-${options.name}`;
    this.logger = options.logger ?? createLogger('lease');
    this.now = options.now ?? Date.now;
    this.heldGauge = gauge(options.registry ?? defaultRegistry(), {
      name: 'parley_lease_held',
      help: "1 while this instance holds the lease (the outbox sweep's, ...), else 0; summed over instances, 1 when all is well.",
      labelNames: ['lease'] as const,
    });
    this.heldGauge.set({ lease: options.name }, 0);
  }

  /** True while this instance may do the lease's work. */
  held(): boolean {
    return this.now() < this.heldUntil;
  }

  start(): void {
    this.stopped = false;
    const every = this.options.renewEveryMs ?? Math.floor(this.ttlMs / 3);
    const tick = () => {
      if (this.stopped) return;
      this.running = this.tryHold()
        .then(() => this.options.progress?.beat())
        .catch((error: unknown) => this.logger.warn({ lease: this.options.name, err: (error as Error)?.message }, 'could not look at the lease; will retry'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, every);
        });
    };
    tick();
  }

  /**
   * One look: takes the lease when nobody holds it or its holder let it run out,
   * renews it when this instance holds it. Resolves with whether it is held now.
   */
  async tryHold(): Promise<boolean> {
    const started = this.now();
    const [last] = await this.options.log.readStream(this.streamId, { direction: 'backward', limit: 1 });
    const version = last?.streamVersion ?? 0;
    const data = last?.data as { holder?: string; until?: string } | undefined;
    const mine = data?.holder === this.holder;
    const free = !last || Date.parse(data?.until ?? '') <= started;
    if (!mine && !free) return this.set(0);
    try {
      const until = started + this.ttlMs;
      const result = await this.options.log.append(
        this.streamId,
        [
          {
            type: 'lease.held',
            schemaVersion: 1,
            tenantId: 'parley',
            data: { name: this.options.name, holder: this.holder, until: new Date(until).toISOString(), at: new Date(started).toISOString() },
          },
        ],
        version === 0 ? 'no_stream' : version,
      );
      // Never published: the stream is the log's own.
      await this.options.log.markPublished(result.events);
      if (!mine) this.logger.info({ lease: this.options.name, holder: this.holder }, 'lease taken');
      return this.set(until - Math.floor(this.ttlMs / 10));
    } catch (error) {
      if (error instanceof WrongExpectedVersionError) return this.set(0);
      throw error;
    }
  }

  /** Stops renewing and gives the lease back, so another instance takes it at its next look instead of after the TTL. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (!this.held()) return;
    this.heldUntil = 0;
    this.heldGauge.set({ lease: this.options.name }, 0);
    try {
      const version = await this.options.log.streamVersion(this.streamId);
      const at = new Date(this.now()).toISOString();
      const result = await this.options.log.append(
        this.streamId,
        [{ type: 'lease.held', schemaVersion: 1, tenantId: 'parley', data: { name: this.options.name, holder: this.holder, until: at, at } }],
        version,
      );
      await this.options.log.markPublished(result.events);
    } catch (error) {
      // Someone else wrote in between: it is theirs already.
      if (!(error instanceof WrongExpectedVersionError))
        this.logger.warn({ lease: this.options.name, err: (error as Error)?.message }, 'could not give the lease back');
    }
  }

  private set(until: number): boolean {
    this.heldUntil = until;
    this.heldGauge.set({ lease: this.options.name }, until > 0 ? 1 : 0);
    return until > 0;
  }
}
