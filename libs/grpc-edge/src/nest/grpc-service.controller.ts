import { Controller, type Type } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import type { GrpcHandlers } from '../grpc.server';
import { parleyService, type ParleyServiceName } from '../proto.loader';

/**
 * A Nest controller for one parley.v1 service: one `@GrpcMethod` per handler the
 * service's edge class builds (auth, metrics, error mapping included). Generated
 * from the proto's method list, so a handler named after no rpc fails at start
 * instead of never being called.
 */
export function grpcServiceController(service: ParleyServiceName, handlers: GrpcHandlers): Type<unknown> {
  const rpcs = new Set(Object.keys(parleyService(service).service));
  const unknown = Object.keys(handlers).filter((name) => !rpcs.has(name));
  if (unknown.length > 0) throw new Error(`parley.v1.${service} has no rpc ${unknown.join(', ')}`);
  @Controller()
  class GrpcServiceController {}
  Object.defineProperty(GrpcServiceController, 'name', { value: `${service}Controller` });
  for (const [rpc, handler] of Object.entries(handlers)) {
    const descriptor: PropertyDescriptor = { value: handler, writable: false, enumerable: false, configurable: false };
    GrpcMethod(service, rpc)(GrpcServiceController.prototype, rpc, descriptor);
    Object.defineProperty(GrpcServiceController.prototype, rpc, descriptor);
  }
  return GrpcServiceController;
}
