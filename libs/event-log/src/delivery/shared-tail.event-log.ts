import type { RecordedEvent } from '../event-envelope';
import type { EventLog, ReadAllOptions, ReadAllResult } from '../event-log.port';
import { typeMatcher, typesCover, type EventTypes } from '../event-types';

/**
 * An EventLog whose `readAll` serves the recent part of the log from memory to
 * every follower of the process: the first follower to reach the head reads the
 * new events (and parses them) once, the others are handed the same ones. A
 * process with several followers (the ingress has its reply dispatcher, its live
 * feed and its availability model) otherwise reads and parses every event once
 * each. Only what the log returned is kept, with the checkpoint it returned, so
 * a follower gets exactly the page the log would have given it. Followers must
 * not change the events they are handed (none does: events are data).
 */
export function sharedTailEventLog(log: EventLog, keep = 5_000, types?: EventTypes): EventLog {
  const matchers = new Map<string, (type: string) => boolean>();
  // The events with positions in (from, to], in order: everything the log holds there.
  let events: RecordedEvent[] = [];
  let from = -1;
  let to = -1;

  const serve = (after: number, limit: number): ReadAllResult => {
    // The first kept event past `after` (positions ascend).
    let low = 0;
    let high = events.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (events[mid]!.position! <= after) low = mid + 1;
      else high = mid;
    }
    const start = low;
    const page = events.slice(start, start + limit);
    return { events: page, checkpoint: page.length === limit ? page.at(-1)!.position! : to };
  };

  // Only `types` are read from the log (every type when absent); each follower gets
  // the ones it asked for, from what is kept.
  const readAll = async (options: ReadAllOptions): Promise<ReadAllResult> => {
    if (!typesCover(types, options.types))
      throw new Error(
        `this tail of the log holds only ${types!.join(', ')}: a follower of ${options.types?.join(', ') ?? 'every type'} must read the log itself`,
      );
    const page = await readTail({ after: options.after, limit: options.limit ?? 500, ...(types ? { types } : {}) });
    if (!options.types || options.types === types) return page;
    const key = options.types.join(' ');
    let wanted = matchers.get(key);
    if (!wanted) matchers.set(key, (wanted = typeMatcher(options.types)));
    return { events: page.events.filter((e) => wanted(e.type)), checkpoint: page.checkpoint };
  };

  const readTail = async (options: ReadAllOptions): Promise<ReadAllResult> => {
    const limit = options.limit ?? 500;
    if (options.after >= from && options.after < to) {
      const kept = serve(options.after, limit);
      // Nothing kept past `after` (positions the log skipped): ask the log, or the follower would think it is at the head.
      if (kept.events.length > 0) return kept;
    }
    const page = await log.readAll(options);
    if (options.after === to || to < 0 || options.after > to) {
      // A page that continues what is kept (or starts it afresh) is kept.
      if (options.after !== to) {
        events = [];
        from = options.after;
      }
      events.push(...page.events);
      to = page.checkpoint;
      if (events.length > keep) {
        const dropped = events.length - keep;
        from = events[dropped - 1]!.position!;
        events = events.slice(dropped);
      }
    }
    return page;
  };

  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'readAll') return readAll;
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
