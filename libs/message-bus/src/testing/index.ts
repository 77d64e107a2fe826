export * from './message-bus.contract';
export * from './bus-consumer.runner';
