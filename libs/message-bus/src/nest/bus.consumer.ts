import { Controller, type Type } from '@nestjs/common';
import { EventPattern } from '@nestjs/microservices';
import type { IncomingMessage } from '../message-bus.port';
import { BusTransport, type BusContext, type BusTransportOptions } from './bus.transport';

/**
 * One consumer of the bus as a Nest application runs it: a transport of its own
 * (its group, start position, retries) and the controller whose `@EventPattern`
 * handlers, one per topic, name that transport and no other. Register the
 * controller when the application is made; connect the transport when the
 * consumer should start (`ServiceApplication.connect`).
 */
export interface BusConsumer {
  readonly controller: Type<unknown>;
  readonly transport: BusTransport;
}

export interface BusConsumerOptions extends Omit<BusTransportOptions, 'transportId' | 'decode'> {
  /** Names the transport and the controller (`<name>Controller`), e.g. `AvailabilityModel`. */
  readonly name: string;
  readonly topics: readonly string[];
  /** Each message as it came (headers included), with its delivery attempt. */
  readonly handle: (message: IncomingMessage, context: BusContext) => Promise<void> | void;
}

/** Made from code rather than written out because the topics are a consumer's option (a projection's types decide them). */
export function busConsumer(options: BusConsumerOptions): BusConsumer {
  const { name, topics, handle, ...transport } = options;
  const transportId = Symbol(name);
  @Controller()
  class BusConsumerController {}
  Object.defineProperty(BusConsumerController, 'name', { value: `${name}Controller` });
  topics.forEach((topic, i) => {
    const method = `topic${i}`;
    const descriptor: PropertyDescriptor = {
      value: (message: IncomingMessage, context: BusContext) => handle(message, context),
      writable: false,
      enumerable: false,
      configurable: false,
    };
    EventPattern(topic, transportId)(BusConsumerController.prototype, method, descriptor);
    Object.defineProperty(BusConsumerController.prototype, method, descriptor);
  });
  return { controller: BusConsumerController, transport: new BusTransport({ ...transport, transportId, decode: (message) => message }) };
}
