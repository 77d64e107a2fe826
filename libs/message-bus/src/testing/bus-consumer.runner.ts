import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { BusConsumer } from '../nest/bus.consumer';
import { BusErrorFilter } from '../nest/bus.transport';

/** Runs one bus consumer in a Nest microservice of its own, as a service runs it beside its other transports. */
export async function runBusConsumer(consumer: BusConsumer): Promise<{ close(): Promise<void> }> {
  @Module({ controllers: [consumer.controller] })
  class BusConsumerModule {}
  const app = await NestFactory.createMicroservice(BusConsumerModule, { strategy: consumer.transport, logger: false });
  app.useGlobalFilters(new BusErrorFilter());
  await app.listen();
  return app;
}
