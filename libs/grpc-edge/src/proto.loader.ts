import { dirname, join } from 'node:path';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/** Where the public API's .proto files are: shipped inside @parley/contracts. */
export const PROTO_ROOT = join(dirname(require.resolve('@parley/contracts/package.json')), 'proto');
export const PROTO_FILES = [
  'parley/v1/common.proto',
  'parley/v1/conversations.proto',
  'parley/v1/customers.proto',
  'parley/v1/events.proto',
  'parley/v1/availability.proto',
  'parley/v1/routing.proto',
  'parley/v1/canned_responses.proto',
];

let cached: PackageDefinition | null = null;

/** Field names stay as written in the proto (snake_case), enums as names, 64-bit integers as strings would be; we use numbers. */
export function parleyPackageDefinition(): PackageDefinition {
  cached ??= loadSync(PROTO_FILES, { includeDirs: [PROTO_ROOT], keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
  return cached;
}

export type ParleyServiceName = 'ConversationService' | 'CustomerService' | 'EventService' | 'AvailabilityService' | 'RoutingService' | 'CannedResponseService';

export function parleyService(name: ParleyServiceName): ServiceClientConstructor {
  const root = loadPackageDefinition(parleyPackageDefinition()) as unknown as { parley: { v1: GrpcObject } };
  return root.parley.v1[name] as ServiceClientConstructor;
}

/**
 * The same service definition, whose responses may also be handed over already
 * serialized (a Buffer): for answers a service keeps encoded, so a repeated one
 * costs no encoding.
 */
export function acceptingSerialized<T>(definition: T): T {
  return Object.fromEntries(
    Object.entries(definition as ServiceDefinition).map(([name, method]) => [
      name,
      { ...method, responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : method.responseSerialize(value)) },
    ]),
  ) as T;
}
