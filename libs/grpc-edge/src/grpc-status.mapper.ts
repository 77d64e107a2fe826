import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { InvalidArgumentError, isParleyError, type ErrorCategory } from '@parley/errors';

/** The one place where Parley's errors become gRPC statuses. */
const STATUS_BY_CATEGORY: Record<ErrorCategory, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  failed_precondition: status.FAILED_PRECONDITION,
  conflict: status.ABORTED,
  not_found: status.NOT_FOUND,
  unauthenticated: status.UNAUTHENTICATED,
  permission_denied: status.PERMISSION_DENIED,
  unavailable: status.UNAVAILABLE,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
};

// google.rpc.Status and google.rpc.BadRequest, as the richer error model defines
// them, so that any gRPC client library can read the field violations.
const rpcTypes = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: { code: { type: 'int32', id: 1 }, message: { type: 'string', id: 2 }, details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 } },
            },
            BadRequest: {
              fields: { field_violations: { rule: 'repeated', type: 'FieldViolation', id: 1 } },
              nested: { FieldViolation: { fields: { field: { type: 'string', id: 1 }, description: { type: 'string', id: 2 } } } },
            },
            ErrorInfo: {
              fields: { reason: { type: 'string', id: 1 }, domain: { type: 'string', id: 2 }, metadata: { keyType: 'string', type: 'string', id: 3 } },
            },
          },
        },
      },
    },
  },
} as unknown as protobuf.INamespace);
const StatusType = rpcTypes.lookupType('google.rpc.Status');
const BadRequestType = rpcTypes.lookupType('google.rpc.BadRequest');
const ErrorInfoType = rpcTypes.lookupType('google.rpc.ErrorInfo');

export interface MappedError {
  readonly grpc: Partial<ServiceError>;
  readonly internal: boolean;
}

export function toGrpcError(error: unknown): MappedError {
  if (!isParleyError(error)) {
    // Never the cause's text: it may carry anything. The caller logs it.
    return { grpc: { code: status.INTERNAL, details: 'internal error', metadata: new Metadata() }, internal: true };
  }
  const code = STATUS_BY_CATEGORY[error.category];
  const metadata = new Metadata();
  metadata.set('parley-error-code', error.code);
  const details = [
    {
      type_url: 'type.googleapis.com/google.rpc.ErrorInfo',
      value: ErrorInfoType.encode(ErrorInfoType.create({ reason: error.code, domain: 'parley.dev', metadata: stringify(error.details()) })).finish(),
    },
  ];
  if (error instanceof InvalidArgumentError) {
    details.push({
      type_url: 'type.googleapis.com/google.rpc.BadRequest',
      value: BadRequestType.encode(
        BadRequestType.create({ field_violations: error.violations.map((v) => ({ field: v.field, description: v.description })) }),
      ).finish(),
    });
  }
  metadata.set('grpc-status-details-bin', Buffer.from(StatusType.encode(StatusType.create({ code, message: error.message, details })).finish()));
  return { grpc: { code, details: error.message, metadata }, internal: false };
}

/** Reads the field violations back from an error a client received (for tests and SDKs). */
export function fieldViolationsOf(error: ServiceError): { field: string; description: string }[] {
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  if (!raw) return [];
  const decoded = StatusType.toObject(StatusType.decode(raw as Buffer), { bytes: Buffer }) as { details?: { type_url: string; value: Buffer }[] };
  const bad = decoded.details?.find((d) => d.type_url.endsWith('google.rpc.BadRequest'));
  if (!bad) return [];
  return (BadRequestType.toObject(BadRequestType.decode(bad.value)) as { field_violations?: { field: string; description: string }[] }).field_violations ?? [];
}

function stringify(details: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(details)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}
