export * from './logger';
export * from './metrics';
export * from './health';
export * from './nest/observability.module';
export * from './nest/pino-nest.logger';
export * from './shutdown';
export * from './nest/health.server';
export * from './business/conversation.metrics';
