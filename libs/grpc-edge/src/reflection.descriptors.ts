import type { PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor';

interface MessageDescriptor {
  name?: string;
  field?: { typeName?: string }[];
  nestedType?: MessageDescriptor[];
  enumType?: { name?: string }[];
}
interface FileDescriptor {
  name?: string;
  package?: string;
  dependency?: string[];
  messageType?: MessageDescriptor[];
  enumType?: { name?: string }[];
  service?: { method?: { inputType?: string; outputType?: string }[] }[];
}

/**
 * proto-loader hands over one synthetic file per package (`parley_v1.proto`,
 * `google_protobuf.proto`) and leaves their `dependency` lists empty, so a
 * reflection client in another language cannot resolve google.protobuf.Timestamp
 * (grpc/grpc-node#3034). This fills the dependency lists in from the type
 * references, before the descriptors are handed to the reflection service.
 */
export function reflectionDefinition(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, FileDescriptor>();
  for (const value of Object.values(definition)) {
    for (const bin of (value as { fileDescriptorProtos?: Buffer[] }).fileDescriptorProtos ?? []) {
      const file = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(bin)) as FileDescriptor;
      if (file.name && !files.has(file.name)) files.set(file.name, file);
    }
  }
  const owner = new Map<string, string>();
  const define = (prefix: string, file: string, messages: MessageDescriptor[] = [], enums: { name?: string }[] = []) => {
    const qualify = (n?: string) => (prefix ? `${prefix}.${n}` : `${n}`);
    for (const e of enums) owner.set(qualify(e.name), file);
    for (const m of messages) {
      owner.set(qualify(m.name), file);
      define(qualify(m.name), file, m.nestedType, m.enumType);
    }
  };
  for (const [name, f] of files) define(f.package ?? '', name, f.messageType, f.enumType);
  const references = (messages: MessageDescriptor[] = []): string[] => messages.flatMap((m) => [...(m.field ?? []).map((x) => x.typeName ?? ''), ...references(m.nestedType)]);
  const protos: Buffer[] = [];
  for (const [name, f] of files) {
    const used = [...references(f.messageType), ...(f.service ?? []).flatMap((s) => (s.method ?? []).flatMap((m) => [m.inputType ?? '', m.outputType ?? '']))];
    const deps = new Set(f.dependency ?? []);
    for (const raw of used) {
      // References may be absolute (.pkg.Type) or relative to the file's package.
      const ref = raw.replace(/^\./, '');
      const from = owner.get(ref) ?? owner.get(`${f.package}.${ref}`);
      if (from && from !== name) deps.add(from);
    }
    protos.push(Buffer.from(descriptor.FileDescriptorProto.encode(descriptor.FileDescriptorProto.fromObject({ ...f, dependency: [...deps] })).finish()));
  }
  return { parley: { format: 'Protocol Buffer 3 FileDescriptorProto', fileDescriptorProtos: protos } } as unknown as PackageDefinition;
}
