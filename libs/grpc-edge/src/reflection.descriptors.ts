import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor';

/** Descriptor sets buf builds from the .proto files (scripts/proto-check.sh checks they are current); google-rpc has the error details Parley sends. */
export const DESCRIPTOR_SETS = ['parley.binpb', 'grpc-health.binpb', 'google-rpc.binpb'].map((file) =>
  join(dirname(require.resolve('@parley/contracts/package.json')), 'descriptors', file),
);

interface FileDescriptorSet {
  file: unknown[];
}

let cached: PackageDefinition | null = null;

/**
 * What gRPC reflection serves: the files exactly as buf (like protoc) builds them,
 * with their real names, imports, map entry types and comments. proto-loader's own
 * descriptors are rebuilt by protobufjs and break strict clients such as grpcurl
 * (map entries named `Fields` instead of `FieldsEntry`, camelCase well-known types).
 */
export function reflectionDefinition(): PackageDefinition {
  cached ??= {
    reflection: {
      format: 'Protocol Buffer 3 FileDescriptorProto',
      fileDescriptorProtos: DESCRIPTOR_SETS.flatMap((path) =>
        (descriptor.FileDescriptorSet.decode(readFileSync(path)) as unknown as FileDescriptorSet).file.map((file) =>
          Buffer.from(descriptor.FileDescriptorProto.encode(file as never).finish()),
        ),
      ),
    },
  } as unknown as PackageDefinition;
  return cached;
}
