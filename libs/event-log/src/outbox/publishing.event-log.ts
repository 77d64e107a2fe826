import type { NewEvent } from '../event-envelope';
import type { AppendResult, EventLog, ExpectedVersion } from '../event-log.port';
import type { OutboxRelay } from './outbox.relay';

/**
 * An EventLog that hands every successful append to the relay at once. If the
 * publication fails or the process dies first, the events stay unpublished in the
 * log and the relay's sweep publishes them later: the append never depends on the bus.
 */
export function publishingEventLog(log: EventLog, relay: OutboxRelay, onPublishError?: (error: unknown) => void): EventLog {
  return new Proxy(log, {
    get(target, property, receiver) {
      if (property === 'append') {
        return async (streamId: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> => {
          const result = await target.append(streamId, events, expected);
          if (!result.alreadyStored) relay.publishAppended(result.events).catch((error: unknown) => onPublishError?.(error));
          return result;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
