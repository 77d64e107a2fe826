import { Registry } from '@parley/observability';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
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

describe('Kafka: consumer lag per group', () => {
  it('reports the messages a group has not committed, from the brokers, while its handler is stuck and after it moves on', async () => {
    const registry = new Registry();
    const bus = new KafkaBus({ brokers: infrastructure().kafkaBrokers, registry });
    const topic = uniqueName('lag');
    const group = uniqueName('lag-group');
    let release!: () => void;
    const stuck = new Promise<void>((r) => (release = r));
    try {
      await bus.ensureTopics([{ name: topic, partitions: 1 }]);
      await bus.publish(topic, [1, 2, 3, 4, 5].map((i) => ({ key: 'k', value: String(i) })));
      const subscription = await bus.subscribe({ groupId: group, topics: [topic], handler: async () => stuck });
      const lagOf = async () => {
        const values = (await registry.getSingleMetric('parley_bus_consumer_lag_messages')!.get()).values;
        return values.find((v) => v.labels['group'] === group && v.labels['topic'] === topic)?.value;
      };
      assert.equal(await waitFor(lagOf, (lag) => lag === 5, { what: 'all five behind while the first is stuck', timeoutMs: 30_000 }), 5);
      release();
      assert.equal(await waitFor(lagOf, (lag) => lag === 0, { what: 'caught up once released', timeoutMs: 30_000 }), 0);
      await subscription.close();
    } finally {
      release();
      await bus.close();
    }
  });
});
