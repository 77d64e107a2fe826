import { busConsumer, instanceGroup, type BusConsumer, type IncomingMessage, type MessageBus } from '@parley/message-bus';
import { gauge, type Logger, type Registry } from '@parley/observability';

/** Which ingress replicas hold open widget connections of which conversation: `parley.live.connections`, keyed by conversation stream. */
export const LIVE_CONNECTIONS_TOPIC = 'parley.live.connections';
/** How often a replica says again which conversations it holds connections of. */
export const LIVE_BEAT_MS = 2000;
/** A replica not heard of a conversation for this long holds no connection of it (it died, or the beat was lost twice). */
const HELD_FOR_MS = 3 * LIVE_BEAT_MS;

/** Whose conversation: what a replica needs to end its session. */
export interface LiveOwner {
  readonly tenantId: string;
  readonly customerId: string;
}

interface Beat extends LiveOwner {
  readonly instance: string;
  readonly at: number;
  /** False when the replica's last connection of the conversation closed. */
  readonly open: boolean;
}

/**
 * A visitor's tabs may reach different ingress replicas (the load balancer picks
 * per connection) and are still one live-chat session: each replica tells the
 * others, every LIVE_BEAT_MS, which conversations it holds connections of (and
 * at once when it gets its first or loses its last), and hears what they hold.
 * A session is ended only by the replica that lets go of it last. Beats are not
 * events: a lost one only delays the news by one period.
 */
export class SharedLiveConnections {
  private readonly held = new Map<string, Map<string, Beat>>();
  private readonly mine = new Map<string, LiveOwner>();
  /** Hears the other replicas: a group of this instance's own, from the newest (every holder says so again within a beat). */
  readonly consumer: BusConsumer;
  private timer: NodeJS.Timeout | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly bus: MessageBus,
    private readonly instance: string,
    private readonly logger: Logger,
    registry: Registry,
    /**
     * Told of a conversation whose holders all went silent without letting go (they
     * died, or stopped for a restart and the visitor did not come back to another
     * replica): its session has nobody left to end it.
     */
    private readonly onAbandoned: (stream: string, owner: LiveOwner) => void = () => undefined,
  ) {
    this.consumer = busConsumer({
      name: 'parley-ingress-live-connections',
      bus,
      ...instanceGroup({ label: 'parley-ingress-live-connections', instance }),
      topics: [LIVE_CONNECTIONS_TOPIC],
      fromBeginning: false,
      retry: { maxAttempts: 1 },
      handle: (message) => this.hear(message),
    });
    const held = this.held;
    gauge(registry, {
      name: 'parley_ingress_live_sessions_elsewhere',
      help: 'Live-chat sessions other ingress replicas hold connections of, as this replica hears them.',
      collect() {
        this.set(held.size);
      },
    });
  }

  /** Makes the topic if missing and starts beating; the consumer is started by its application, after this. */
  async start(): Promise<void> {
    await this.bus.ensureTopics([{ name: LIVE_CONNECTIONS_TOPIC, partitions: 12 }]);
    this.timer = setInterval(() => {
      void this.say([...this.mine], true);
      this.forgetSilent(Date.now());
    }, LIVE_BEAT_MS);
    this.timer.unref();
  }

  /** This replica got its first connection of the conversation. */
  opened(stream: string, owner: LiveOwner): void {
    this.mine.set(stream, owner);
    void this.say([[stream, owner]], true);
  }

  /** This replica's last connection of the conversation closed. */
  closed(stream: string): void {
    const owner = this.mine.get(stream);
    this.mine.delete(stream);
    if (owner) void this.say([[stream, owner]], false);
  }

  /** Whether another replica holds a connection of the conversation now. */
  heldElsewhere(stream: string, now = Date.now()): boolean {
    for (const beat of this.held.get(stream)?.values() ?? []) if (beat.open && now - beat.at < HELD_FOR_MS) return true;
    return false;
  }

  /** Whether another replica holds the conversation, waiting up to `ms` for one to say so (a replica that has just started hears the others within a beat). */
  async heldElsewhereWithin(stream: string, ms: number): Promise<boolean> {
    if (this.heldElsewhere(stream)) return true;
    return new Promise<boolean>((resolve) => {
      const set = this.waiters.get(stream) ?? new Set();
      const done = (held: boolean) => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(stream);
        resolve(held);
      };
      const wake = () => this.heldElsewhere(stream) && done(true);
      const timer = setTimeout(() => done(false), ms);
      set.add(wake);
      this.waiters.set(stream, set);
    });
  }

  running(): boolean {
    return this.consumer.transport.running();
  }

  /**
   * Stops beating without letting go: a visitor whose widget reconnects to
   * another replica within a few beats stays in the same session; one who does
   * not is ended by the others (onAbandoned). The consumer stops with its application.
   */
  stop(): void {
    clearInterval(this.timer);
  }

  private hear(message: IncomingMessage): void {
    if (!message.key || !message.value) return;
    let beat: Beat;
    try {
      beat = JSON.parse(message.value.toString('utf8')) as Beat;
    } catch {
      return;
    }
    if (
      typeof beat.instance === 'string' &&
      beat.instance !== this.instance &&
      Number.isFinite(beat.at) &&
      typeof beat.tenantId === 'string' &&
      typeof beat.customerId === 'string'
    )
      this.note(message.key, beat);
  }

  private forgetSilent(now: number): void {
    for (const [stream, byInstance] of this.held) {
      let last: Beat | undefined;
      for (const [instance, beat] of byInstance)
        if (now - beat.at >= HELD_FOR_MS) {
          byInstance.delete(instance);
          last = beat;
        }
      if (byInstance.size > 0) continue;
      this.held.delete(stream);
      if (last && !this.mine.has(stream)) this.onAbandoned(stream, last);
    }
  }

  private async say(streams: readonly (readonly [string, LiveOwner])[], open: boolean): Promise<void> {
    if (streams.length === 0) return;
    const at = Date.now();
    await this.bus
      .publish(
        LIVE_CONNECTIONS_TOPIC,
        streams.map(([key, owner]) => ({
          key,
          value: JSON.stringify({ instance: this.instance, at, open, tenantId: owner.tenantId, customerId: owner.customerId } satisfies Beat),
        })),
      )
      .catch((error: unknown) => this.logger.warn({ err: (error as Error)?.message }, 'could not share live connections; the next beat will'));
  }

  private note(stream: string, beat: Beat): void {
    const byInstance = this.held.get(stream) ?? new Map<string, Beat>();
    const last = byInstance.get(beat.instance);
    if (last && last.at > beat.at) return;
    if (beat.open) byInstance.set(beat.instance, beat);
    else byInstance.delete(beat.instance);
    if (byInstance.size > 0) this.held.set(stream, byInstance);
    else this.held.delete(stream);
    for (const wake of [...(this.waiters.get(stream) ?? [])]) wake();
  }
}
