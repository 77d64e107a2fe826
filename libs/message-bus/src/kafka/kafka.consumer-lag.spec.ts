import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { Consumer, Kafka } from 'kafkajs';
import { Registry, createLogger } from '@parley/observability';
import { KafkaConsumerLag } from './kafka.consumer-lag';

/** A consumer that has joined its group with partitions 0 and 1 of one topic. */
function joinedConsumer(): Consumer {
  const events = { GROUP_JOIN: 'consumer.group_join' };
  return {
    events,
    on: (_name: string, listener: (e: unknown) => void) => listener({ payload: { memberAssignment: { 'parley.channel.inbound': [0, 1] } } }),
  } as unknown as Consumer;
}

describe('consumer lag while the brokers cannot be asked', () => {
  it('reads the lag from the brokers, and shows it as unknown (NaN), never 0, while they do not answer', async () => {
    let brokersUp = true;
    const admin = {
      connect: async () => undefined,
      disconnect: async () => undefined,
      fetchOffsets: async () => {
        if (!brokersUp) throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });
        return [
          {
            topic: 'parley.channel.inbound',
            partitions: [
              { partition: 0, offset: '10' },
              { partition: 1, offset: '-1' },
            ],
          },
        ];
      },
      fetchTopicOffsets: async () => [
        { partition: 0, low: '0', high: '15' },
        { partition: 1, low: '2', high: '4' },
      ],
    };
    const registry = new Registry();
    const lag = new KafkaConsumerLag({ admin: () => admin } as unknown as Kafka, createLogger('test'), registry, 0);
    lag.watch(joinedConsumer(), 'parley-ingress-channels', 'parley-ingress-channels');
    const read = async () =>
      (await registry.getSingleMetric('parley_bus_consumer_lag_messages')!.get()).values.map((v) => [v.labels['group'], v.labels['topic'], v.value]);
    assert.deepEqual(await read(), [['parley-ingress-channels', 'parley.channel.inbound', 5 + 2]]);
    brokersUp = false;
    const [[group, topic, value]] = (await read()) as [[string, string, number]];
    assert.deepEqual([group, topic], ['parley-ingress-channels', 'parley.channel.inbound']);
    assert.ok(Number.isNaN(value), `unknown, not ${value}`);
    brokersUp = true;
    assert.deepEqual(await read(), [['parley-ingress-channels', 'parley.channel.inbound', 7]]);
    await lag.close();
  });
});
