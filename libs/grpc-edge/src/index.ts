export * from './proto.loader';
export * from './caller.auth';
export * from './grpc-status.mapper';
export * from './grpc.server';
