export * from './conversation.metrics';
