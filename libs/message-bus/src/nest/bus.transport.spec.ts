import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { Controller, Module } from '@nestjs/common';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { NestFactory } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { Registry } from '@parley/observability';
import { infrastructure, uniqueName, waitFor } from '@parley/testing-support';
import { InProcessBus } from '../in-process/in-process.bus';
import { KafkaBus } from '../kafka/kafka.bus';
import type { IncomingMessage, MessageBus } from '../message-bus.port';
import { runBusConsumer } from '../testing/bus-consumer.runner';
import { busConsumer } from './bus.consumer';
import { BusContext, BusErrorFilter, BusTransport } from './bus.transport';

const TOPIC = uniqueName('nest.orders');
const seen: { payload: unknown; topic: string; attempt: number }[] = [];

@Controller()
class OrdersController {
  @EventPattern(TOPIC)
  async onOrder(@Payload() payload: { id: number; fail?: boolean }, @Ctx() context: BusContext): Promise<void> {
    seen.push({ payload, topic: context.getTopic(), attempt: context.getAttempt() });
    if (payload.fail) throw new Error('this order cannot be handled');
  }
}

@Module({ controllers: [OrdersController] })
class OrdersModule {}

@Controller()
class RequestReplyController {
  @MessagePattern('nest.not-allowed')
  answer(): string {
    return 'no';
  }
}

@Module({ controllers: [RequestReplyController] })
class RequestReplyModule {}

const buses: [string, () => MessageBus][] = [
  ['in-process', () => new InProcessBus({ registry: new Registry() })],
  ['Kafka', () => new KafkaBus({ brokers: infrastructure().kafkaBrokers, registry: new Registry() })],
];

for (const [name, makeBus] of buses) {
  describe(`NestJS @EventPattern handlers on the ${name} bus`, () => {
    it('receive decoded payloads with their context; a failing handler is retried, then dead-lettered', async () => {
      seen.length = 0;
      const bus = makeBus();
      const moduleRef = await Test.createTestingModule({ imports: [OrdersModule] }).compile();
      const app = moduleRef.createNestMicroservice({
        strategy: new BusTransport({ bus, groupId: uniqueName('orders'), retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 10 } }),
        logger: false,
      });
      app.useGlobalFilters(new BusErrorFilter());
      await app.listen();
      const dead: IncomingMessage[] = [];
      const dlq = await bus.subscribe({ groupId: uniqueName('dlq'), topics: [`${TOPIC}.dead-letter`], handler: async (m) => void dead.push(m) });
      await bus.publish(TOPIC, [
        { key: 'o-1', value: JSON.stringify({ id: 1 }) },
        { key: 'o-1', value: JSON.stringify({ id: 2, fail: true }) },
        { key: 'o-1', value: JSON.stringify({ id: 3 }) },
      ]);
      await waitFor(
        () => seen.length,
        (n) => n >= 4,
        { what: 'four deliveries', timeoutMs: 60_000 },
      );
      await waitFor(
        () => dead.length,
        (n) => n === 1,
        { what: 'the dead letter', timeoutMs: 60_000 },
      );
      assert.deepEqual(
        seen.map((s) => [s.payload, s.attempt]),
        [
          [{ id: 1 }, 1],
          [{ id: 2, fail: true }, 1],
          [{ id: 2, fail: true }, 2],
          [{ id: 3 }, 1],
        ],
      );
      assert.ok(seen.every((s) => s.topic === TOPIC));
      assert.equal(dead[0]!.value?.toString(), JSON.stringify({ id: 2, fail: true }));
      // The handler's own error, not Nest's "Internal server error".
      assert.match(dead[0]!.headers['parley_dlq_error'] ?? '', /this order cannot be handled/);
      await dlq.close();
      await app.close();
      await bus.close();
    });
  });
}

const FAST = Symbol('fast-lane');
const SLOW = Symbol('slow-lane');
const lanes: string[] = [];

@Controller()
class LanesController {
  @EventPattern('lanes.fast', FAST)
  fast(@Payload() p: { n: number }, @Ctx() c: BusContext): void {
    lanes.push(`fast ${p.n} attempt ${c.getAttempt()}`);
  }
  @EventPattern('lanes.slow', SLOW)
  slow(@Payload() p: { n: number }, @Ctx() c: BusContext): void {
    lanes.push(`slow ${p.n} attempt ${c.getAttempt()}`);
    if (p.n === 0) throw new Error('not yet');
  }
}

@Module({ controllers: [LanesController] })
class LanesModule {}

describe('BusTransport', () => {
  it('serves, beside another bus transport in one application, only the patterns that name it, with its own group and retries', async () => {
    lanes.length = 0;
    const bus = new InProcessBus({ registry: new Registry() });
    const subscribed: string[] = [];
    const watched: MessageBus = new Proxy(bus, {
      get: (target, property, receiver) =>
        property === 'subscribe'
          ? (options: { groupId: string; topics: readonly string[] }) => {
              subscribed.push(`${options.groupId}: ${options.topics.join(',')}`);
              return target.subscribe(options as Parameters<MessageBus['subscribe']>[0]);
            }
          : Reflect.get(target, property, receiver),
    });
    const app = await NestFactory.create(LanesModule, { logger: false });
    for (const [transportId, groupId, maxAttempts] of [
      [FAST, 'fast-group', 1],
      [SLOW, 'slow-group', 3],
    ] as const) {
      app.connectMicroservice(
        { strategy: new BusTransport({ bus: watched, transportId, groupId, retry: { maxAttempts, initialBackoffMs: 1, maxBackoffMs: 1 } }) },
        { inheritAppConfig: true },
      );
    }
    app.useGlobalFilters(new BusErrorFilter());
    await app.startAllMicroservices();
    assert.deepEqual(subscribed.sort(), ['fast-group: lanes.fast', 'slow-group: lanes.slow']);
    await bus.publish('lanes.fast', [{ key: 'k', value: JSON.stringify({ n: 1 }) }]);
    await bus.publish('lanes.slow', [{ key: 'k', value: JSON.stringify({ n: 0 }) }]);
    await waitFor(
      () => lanes.length,
      (n) => n === 4,
      { what: 'one fast delivery and three slow attempts' },
    );
    assert.deepEqual([...lanes].sort(), ['fast 1 attempt 1', 'slow 0 attempt 1', 'slow 0 attempt 2', 'slow 0 attempt 3']);
    await app.close();
    await bus.close();
  });

  it('busConsumer: a transport and controller of its own, starting where startAt says when it starts, beating its liveness while it runs', async () => {
    const bus = new InProcessBus({ registry: new Registry() });
    const topic = uniqueName('consumer.topic');
    await bus.ensureTopics([{ name: topic, partitions: 1 }]);
    await bus.publish(topic, [{ key: 'k', value: 'before the start' }]);
    const heard: string[] = [];
    let beats = 0;
    const consumer = busConsumer({
      name: 'TestFollower',
      bus,
      groupId: uniqueName('follower'),
      topics: [topic],
      startAt: async () => {
        const end = await bus.endOffsets([topic]);
        // Written while the follower rebuilds: the bus carries it, from the end taken before.
        await bus.publish(topic, [{ key: 'k', value: 'during the rebuild' }]);
        return end;
      },
      progress: { beat: () => void beats++ },
      handle: (message) => void heard.push(message.value!.toString()),
    });
    assert.equal(consumer.controller.name, 'TestFollowerController');
    const app = await runBusConsumer(consumer);
    await bus.publish(topic, [{ key: 'k', value: 'after the start' }]);
    await waitFor(
      () => heard.length,
      (n) => n === 2,
      { what: 'what was written from the start position on' },
    );
    assert.deepEqual(heard, ['during the rebuild', 'after the start']);
    assert.equal(consumer.transport.running(), true);
    await waitFor(
      () => beats,
      (n) => n > 0,
      { what: 'a liveness beat' },
    );
    await app.close();
    assert.equal(consumer.transport.running(), false);
    await bus.close();
  });

  it('refuses request/reply handlers: synchronous calls belong on gRPC', async () => {
    const bus = new InProcessBus({ registry: new Registry() });
    const moduleRef = await Test.createTestingModule({ imports: [RequestReplyModule] }).compile();
    const app = moduleRef.createNestMicroservice({ strategy: new BusTransport({ bus, groupId: 'g' }), logger: false });
    await assert.rejects(app.listen(), /@MessagePattern\('nest.not-allowed'\) is not supported/);
    await app.close().catch(() => undefined);
    await bus.close();
  });
});
