import type { RecordedEvent } from '../event-envelope';
import type { EventLog } from '../event-log.port';

/** Where a consumer stands in each stream. Real consumers keep it beside their read model, updated together. */
export interface StreamVersionStore {
  get(streamId: string): Promise<number>;
  set(streamId: string, version: number): Promise<void>;
}

export class InMemoryStreamVersionStore implements StreamVersionStore {
  private readonly versions = new Map<string, number>();
  async get(streamId: string): Promise<number> {
    return this.versions.get(streamId) ?? 0;
  }
  async set(streamId: string, version: number): Promise<void> {
    this.versions.set(streamId, version);
  }
}

export type DeliveryVerdict = 'applied' | 'duplicate' | 'gap-filled';

/**
 * Turns at-least-once, possibly out-of-order delivery into exactly-once, in-order
 * handling per stream: an event at or below the stored version is a duplicate;
 * one further ahead than the next means some went missing on the way, so they
 * are read from the log and applied first.
 */
export class StreamDeliveryGuard {
  constructor(
    private readonly log: Pick<EventLog, 'readStream'>,
    private readonly versions: StreamVersionStore,
  ) {}

  async deliver(event: RecordedEvent, apply: (event: RecordedEvent) => Promise<void>): Promise<DeliveryVerdict> {
    const last = await this.versions.get(event.streamId);
    if (event.streamVersion <= last) return 'duplicate';
    let verdict: DeliveryVerdict = 'applied';
    if (event.streamVersion > last + 1) {
      const missing = await this.log.readStream(event.streamId, { from: last + 1, limit: event.streamVersion - last - 1 });
      for (const m of missing) {
        await apply(m);
        await this.versions.set(event.streamId, m.streamVersion);
      }
      verdict = 'gap-filled';
    }
    await apply(event);
    await this.versions.set(event.streamId, event.streamVersion);
    return verdict;
  }
}
