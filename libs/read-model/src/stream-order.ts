import type { EventLog, RecordedEvent } from '@parley/event-log';
import type { ReadDocument, ReadModelStore } from './read-model.port';

/** The table, beside a projection's own, where it keeps the last version it applied of each stream. */
export function streamsTableOf(projection: string): string {
  return `${projection.replace(/-/g, '_')}_streams`;
}

interface StreamVersionDoc extends ReadDocument {
  readonly version: number;
}

/** Pages of a gap read from the log: a consumer that was down long may miss many events of one stream. */
const GAP_PAGE = 500;

/**
 * Turns the bus's delivery (at least once, and, when two writers append
 * consecutive events of one stream, sometimes out of version order) into each
 * stream's events once and in order, for one projection:
 * - an event the log pass before the handover already applied (its position is
 *   at or below the handover position) is dropped without a read;
 * - one at or below the stream's stored version is a repeat and is dropped;
 * - one further ahead than the next means some are missing: they are read from
 *   the log and applied first.
 * The stored version is written with the projection's writes; the last version
 * seen of each stream (of any type, so that other types cost nothing) is also
 * kept in memory, bounded, for the streams of this consumer's partitions.
 */
export class StreamOrder {
  private readonly seen = new Map<string, number>();
  private generation = -1;

  constructor(
    private readonly log: Pick<EventLog, 'readStream'>,
    private readonly store: ReadModelStore,
    private readonly wanted: (type: string) => boolean,
    /**
     * A stream this projection has applied nothing of: false to take its first
     * event as it comes (a dispatcher that must not act on a conversation's past),
     * true to apply its earlier events first.
     */
    private readonly fromStart = true,
    private readonly maxRemembered = 50_000,
  ) {}

  /**
   * The events to apply for one delivered event, in stream order: none for a
   * repeat or another type, else the missing ones first and the event last.
   */
  async admit(event: RecordedEvent, generation: number, table: string, handoverPosition: number): Promise<readonly RecordedEvent[]> {
    if (generation !== this.generation) {
      // A rebuild switched generations: what was applied to the old one says nothing of the new one.
      this.seen.clear();
      this.generation = generation;
    }
    if (event.position <= handoverPosition) return [];
    const { streamId, streamVersion } = event;
    const seen = this.seen.get(streamId);
    if (!this.wanted(event.type)) {
      if (seen === streamVersion - 1) this.remember(streamId, streamVersion);
      return [];
    }
    const known = seen ?? (await this.store.get<StreamVersionDoc>(table, streamId))?.version;
    if (known === undefined && !this.fromStart) return [event];
    const last = known ?? 0;
    if (streamVersion <= last) {
      this.remember(streamId, last);
      return [];
    }
    const missing: RecordedEvent[] = [];
    for (let from = last + 1; from < streamVersion;) {
      const page = await this.log.readStream(streamId, { from, limit: Math.min(GAP_PAGE, streamVersion - from) });
      if (page.length === 0) break;
      missing.push(...page.filter((e) => e.streamVersion < streamVersion && this.wanted(e.type)));
      from = page.at(-1)!.streamVersion + 1;
    }
    return [...missing, event];
  }

  /** An event of another type went by (never parsed): the stream's versions seen stay contiguous, so the next of ours opens no gap. */
  skipped(streamId: string, version: number, generation: number): void {
    if (generation === this.generation && this.seen.get(streamId) === version - 1) this.remember(streamId, version);
  }

  /** Records that the stream's events up to this one are applied (after the projection's writes). */
  async applied(event: RecordedEvent, table: string): Promise<void> {
    await this.store.upsert(table, { id: event.streamId, version: event.streamVersion } satisfies StreamVersionDoc);
    this.remember(event.streamId, event.streamVersion);
  }

  /** What a page read from the log applied: the highest version of each stream in it. */
  static pageVersions(events: readonly RecordedEvent[]): readonly StreamVersionDoc[] {
    const highest = new Map<string, number>();
    for (const e of events) highest.set(e.streamId, Math.max(highest.get(e.streamId) ?? 0, e.streamVersion));
    return [...highest].map(([id, version]) => ({ id, version }));
  }

  private remember(streamId: string, version: number): void {
    // Re-inserted so that the Map's order is least recently used first.
    this.seen.delete(streamId);
    this.seen.set(streamId, version);
    if (this.seen.size > this.maxRemembered) this.seen.delete(this.seen.keys().next().value!);
  }
}
