export * from './proto.loader';
export * from './caller.auth';
export * from './grpc-status.mapper';
export * from './grpc.server';
export * from './nest/grpc.transport';
export * from './nest/grpc-service.controller';
export * from './nest/service.application';
