import { EventLoopTurns, IdleBackoff, type EventLog, type RecordedEvent } from '@parley/event-log';
import { eventsTopic } from '@parley/contracts';
import type { BusConsumer, InstanceGroup, MessageBus } from '@parley/message-bus';
import type { LoopProgress, Logger } from '@parley/observability';
import { BusFollower } from '@parley/read-model';

type Listener = (event: RecordedEvent) => void;

/** Connections watch conversation streams, which hold conversation events only. */
export const LIVE_FEED_TYPES: readonly string[] = ['conversation.'];

/**
 * Follows the log from its end and hands each new event of a watched stream to
 * its listeners: what makes a reply written anywhere (by an agent through the
 * API, on another instance) appear live on every open connection. Events of
 * streams nobody watches are skipped without being opened.
 */
export class LiveFeed {
  private readonly listeners = new Map<string, Set<Listener>>();
  private position = 0;
  private loop: Promise<void> | null = null;
  private follower: BusFollower | null = null;
  private stopped = false;

  constructor(
    private readonly raw: EventLog,
    private readonly open: (event: RecordedEvent) => Promise<RecordedEvent>,
    private readonly logger: Logger,
    private readonly pollMs = 50,
  ) {}

  async start(progress?: LoopProgress): Promise<void> {
    this.position = await this.raw.lastPosition();
    const turns = new EventLoopTurns();
    // With visitors connected, a quiet feed looks every 200 ms at most (an agent's answer
    // shows within that); with none, every second.
    const watched = new IdleBackoff(this.pollMs, 200);
    const unwatched = new IdleBackoff(this.pollMs, 1000);
    this.loop = (async () => {
      while (!this.stopped) {
        try {
          const page = await this.raw.readAll({ after: this.position, limit: 500, types: LIVE_FEED_TYPES });
          const moved = page.checkpoint !== this.position;
          for (const event of page.events) {
            await turns.pause();
            await this.deliver(event);
          }
          this.position = page.checkpoint;
          progress?.beat();
          const wait = (this.listeners.size > 0 ? watched : unwatched).next(moved);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          // Pages of other types only never reach the pause before each event.
          else await turns.pause();
        } catch (error) {
          this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'live feed failed; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  /**
   * Follows the bus instead of the log: every partition of the conversation
   * events, in a group of this instance's own, from when its consumer starts (a
   * connection reads what came before from the stream itself).
   */
  onBus(bus: MessageBus, group: InstanceGroup, progress?: LoopProgress): BusConsumer {
    this.follower = new BusFollower({
      bus,
      log: this.raw,
      group,
      topics: [eventsTopic('conversation')],
      types: LIVE_FEED_TYPES,
      apply: (event) => this.deliver(event),
      ...(progress ? { progress } : {}),
    });
    return this.follower.consumer(() => this.raw.lastPosition());
  }

  /** Whether the bus consumer runs (always true when following the log). */
  running(): boolean {
    return this.follower?.running() ?? true;
  }

  private async deliver(event: RecordedEvent): Promise<void> {
    const listeners = this.listeners.get(event.streamId);
    // Events of streams nobody watches are never opened.
    if (!listeners?.size) return;
    const opened = await this.open(event);
    for (const listener of [...listeners]) listener(opened);
  }

  watch(streamId: string, listener: Listener): () => void {
    const set = this.listeners.get(streamId) ?? new Set();
    set.add(listener);
    this.listeners.set(streamId, set);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(streamId);
    };
  }

  /** Stops following the log (a bus consumer stops with its application). */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}
