export * from './event-log.contract';
