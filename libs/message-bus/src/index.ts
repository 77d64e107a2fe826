export * from './message-bus.port';
export * from './delivery/retrying.delivery';
export * from './kafka/kafka.bus';
export * from './in-process/in-process.bus';
export * from './nest/bus.transport';
export * from './nest/bus.consumer';
