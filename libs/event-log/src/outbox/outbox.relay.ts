import type { MessageBus } from '@parley/message-bus';
import { counter, createLogger, defaultRegistry, gauge, type LoopProgress, type Logger, type Registry } from '@parley/observability';
import type { RecordedEvent } from '../event-envelope';
import type { EventLog } from '../event-log.port';
import { toCloudEventMessage } from './cloud-event.mapping';

export interface OutboxRelayOptions {
  readonly log: EventLog;
  readonly bus: MessageBus;
  /**
   * The topic of an event; default `parley.<stream category>.events`, the category
   * being the stream id up to its first '-'. Null: the log's own event, marked
   * published without being published.
   */
  readonly topicFor?: (event: RecordedEvent) => string | null;
  readonly batchSize?: number;
  /** How often unpublished events are looked for (crash recovery, lost publishes). */
  readonly sweepIntervalMs?: number;
  /**
   * Only events older than this are swept: fresh ones belong to the process that
   * appended them, which publishes them at once. Several instances may sweep the
   * same events at once; consumers deduplicate.
   */
  readonly sweepAgeMs?: number;
  /** When given, a sweep pass runs only while it is held: one sweeper in the deployment, not one per replica. */
  readonly lease?: { held(): boolean };
  readonly logger?: Logger;
  readonly registry?: Registry;
  /** Told after every pass that got through (liveness): a relay failing every pass stops telling. */
  readonly progress?: LoopProgress;
}

export function defaultTopicFor(event: RecordedEvent): string | null {
  // The log's own streams (leases): see INTERNAL_STREAM_PREFIX in @parley/contracts.
  if (event.streamId.startsWith('parley-')) return null;
  const category =
    event.streamId
      .split('-', 1)[0]!
      .replace(/[^a-z0-9]/gi, '')
      .toLowerCase() || 'misc';
  return `parley.${category}.events`;
}

/**
 * Publication without loss: the event documents are the outbox. An event is
 * published, then marked; a crash between the two only means it is published
 * again later (at least once). Passes run one at a time, so the events of one
 * process reach the bus in the order they were appended.
 */
export class OutboxRelay {
  private readonly topicFor: (event: RecordedEvent) => string | null;
  private readonly logger: Logger;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly failures;
  private readonly pending;
  private readonly oldest;

  constructor(private readonly options: OutboxRelayOptions) {
    this.topicFor = options.topicFor ?? defaultTopicFor;
    this.logger = options.logger ?? createLogger('outbox-relay');
    const registry = options.registry ?? defaultRegistry();
    this.failures = counter(registry, {
      name: 'parley_outbox_publish_failures_total',
      help: 'Publications of outbox events to a topic that failed (retried on the next pass), by topic.',
      labelNames: ['topic'] as const,
    });
    this.pending = gauge(registry, { name: 'parley_outbox_pending_events', help: "Events the relay's last pass left unpublished (their topic failed)." });
    this.oldest = gauge(registry, {
      name: 'parley_outbox_oldest_pending_seconds',
      help: 'Age of the oldest event not yet published after the last pass; 0 when none waits.',
    });
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      void (this.options.lease && !this.options.lease.held() ? Promise.resolve(0) : this.sweep())
        .then(() => this.options.progress?.beat())
        .catch((error: unknown) => {
          // A topic refusing is the ParleyOutboxStuck alert's business; the relay itself got on (restarting would not help).
          if (error instanceof OutboxTopicsFailedError) this.options.progress?.beat();
          this.logger.warn({ err: (error as Error)?.message }, 'outbox sweep failed; will retry');
        })
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.sweepIntervalMs ?? 1000);
        });
    };
    tick();
  }

  /** Publishes events just appended by this process, ahead of the next sweep. */
  publishAppended(events: readonly RecordedEvent[]): Promise<void> {
    return this.serialize(async () => {
      const failed = new Set<string>();
      await this.publishAndMark(events, failed);
      if (failed.size > 0) throw new OutboxTopicsFailedError([...failed]);
    });
  }

  /**
   * One pass over what is still unpublished; resolves with how many events were
   * published. A topic that fails is left for the next pass and skipped for the rest
   * of this one (so a stream's events never overtake each other), while the other
   * topics' events go on being published behind it.
   */
  sweep(): Promise<number> {
    return this.serialize(async () => {
      let total = 0;
      let after = 0;
      const failed = new Set<string>();
      // What this pass leaves unpublished: the events of topics that failed.
      let waiting = 0;
      let oldest: string | null = null;
      const age = this.options.sweepAgeMs ?? 0;
      for (;;) {
        const events = await this.options.log.readUnpublished({
          limit: this.options.batchSize ?? 500,
          afterPosition: after,
          ...(age > 0 ? { recordedBefore: new Date(Date.now() - age) } : {}),
        });
        if (events.length === 0) break;
        total += await this.publishAndMark(events, failed);
        for (const e of events) {
          const topic = this.topicFor(e);
          if (topic === null || !failed.has(topic)) continue;
          waiting++;
          if (oldest === null || e.recordedAt < oldest) oldest = e.recordedAt;
        }
        // Onwards from the furthest event read, so that a page never comes back.
        const furthest = events.reduce((max, e) => Math.max(max, e.position), after);
        if (furthest <= after) break;
        after = furthest;
      }
      this.pending.set(waiting);
      this.oldest.set(oldest === null ? 0 : Math.max(0, (Date.now() - Date.parse(oldest)) / 1000));
      if (failed.size > 0) throw new OutboxTopicsFailedError([...failed]);
      return total;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.chain.catch(() => undefined);
  }

  private serialize<T>(work: () => Promise<T>): Promise<T> {
    const next = this.chain.then(work, work);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async publishAndMark(events: readonly RecordedEvent[], failed = new Set<string>()): Promise<number> {
    if (events.length === 0) return 0;
    const byTopic = new Map<string, RecordedEvent[]>();
    const published: RecordedEvent[] = [];
    for (const e of events) {
      const topic = this.topicFor(e);
      if (topic === null) published.push(e);
      else byTopic.set(topic, [...(byTopic.get(topic) ?? []), e]);
    }
    for (const [topic, list] of byTopic) {
      if (failed.has(topic)) continue;
      try {
        await this.options.bus.publish(topic, list.map(toCloudEventMessage));
        published.push(...list);
      } catch (error) {
        failed.add(topic);
        this.failures.inc({ topic });
        this.logger.warn(
          { topic, events: list.length, err: (error as Error)?.message },
          'publishing to a topic failed; its events wait for the next pass, the other topics go on',
        );
      }
    }
    await this.options.log.markPublished(published);
    return published.length;
  }
}

/** Some topics could not be published to in a pass; their events are still unpublished. */
export class OutboxTopicsFailedError extends Error {
  constructor(readonly topics: readonly string[]) {
    super(`publishing failed on ${topics.join(', ')}; their events wait for the next pass`);
    this.name = 'OutboxTopicsFailedError';
  }
}
