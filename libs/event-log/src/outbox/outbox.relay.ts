import type { MessageBus } from '@parley/message-bus';
import { createLogger, type Logger } from '@parley/observability';
import type { RecordedEvent } from '../event-envelope';
import type { EventLog } from '../event-log.port';
import { toCloudEventMessage } from './cloud-event.mapping';

export interface OutboxRelayOptions {
  readonly log: EventLog;
  readonly bus: MessageBus;
  /** The topic of an event; default `parley.<stream category>.events`, the category being the stream id up to its first '-'. */
  readonly topicFor?: (event: RecordedEvent) => string;
  readonly batchSize?: number;
  /** How often unpublished events are looked for (crash recovery, lost publishes). */
  readonly sweepIntervalMs?: number;
  /**
   * Only events older than this are swept: fresh ones belong to the process that
   * appended them, which publishes them at once. Several instances may sweep the
   * same events at once; consumers deduplicate.
   */
  readonly sweepAgeMs?: number;
  readonly logger?: Logger;
}

export function defaultTopicFor(event: RecordedEvent): string {
  const category = event.streamId.split('-', 1)[0]!.replace(/[^a-z0-9]/gi, '').toLowerCase() || 'misc';
  return `parley.${category}.events`;
}

/**
 * Publication without loss: the event documents are the outbox. An event is
 * published, then marked; a crash between the two only means it is published
 * again later (at least once). Passes run one at a time, so the events of one
 * process reach the bus in the order they were appended.
 */
export class OutboxRelay {
  private readonly topicFor: (event: RecordedEvent) => string;
  private readonly logger: Logger;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.topicFor = options.topicFor ?? defaultTopicFor;
    this.logger = options.logger ?? createLogger('outbox-relay');
  }

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      void this.sweep()
        .catch((error: unknown) => this.logger.warn({ err: (error as Error)?.message }, 'outbox sweep failed; will retry'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.sweepIntervalMs ?? 1000);
        });
    };
    tick();
  }

  /** Publishes events just appended by this process, ahead of the next sweep. */
  publishAppended(events: readonly RecordedEvent[]): Promise<void> {
    return this.serialize(() => this.publishAndMark(events));
  }

  /** One pass over what is still unpublished; resolves with how many events were published. */
  sweep(): Promise<number> {
    return this.serialize(async () => {
      let total = 0;
      for (;;) {
        const age = this.options.sweepAgeMs ?? 0;
        const events = await this.options.log.readUnpublished({
          limit: this.options.batchSize ?? 500,
          ...(age > 0 ? { recordedBefore: new Date(Date.now() - age) } : {}),
        });
        if (events.length === 0) return total;
        await this.publishAndMark(events);
        total += events.length;
      }
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

  private async publishAndMark(events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const byTopic = new Map<string, RecordedEvent[]>();
    for (const e of events) {
      const topic = this.topicFor(e);
      byTopic.set(topic, [...(byTopic.get(topic) ?? []), e]);
    }
    for (const [topic, list] of byTopic) await this.options.bus.publish(topic, list.map(toCloudEventMessage));
    await this.options.log.markPublished(events);
  }
}
