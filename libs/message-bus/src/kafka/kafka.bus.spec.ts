import { Registry } from '@parley/observability';
import { infrastructure } from '@parley/testing-support';
import { messageBusContract } from '../testing/message-bus.contract';
import { KafkaBus } from './kafka.bus';

messageBusContract('Kafka', async () => {
  const { kafkaBrokers } = infrastructure();
  // The broker's minimum session timeout is 6 s; a 9 s handler would be kicked
  // out if nothing heartbeated while it ran.
  const open = () => new KafkaBus({ brokers: kafkaBrokers, registry: new Registry(), sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000 });
  const bus = open();
  const others: KafkaBus[] = [];
  return {
    bus,
    openAnother: async () => {
      const other = open();
      others.push(other);
      return other;
    },
    cleanup: async () => {
      for (const o of others) await o.close();
      await bus.close();
    },
    slowerThanSessionMs: 9000,
  };
});
