import { resolve } from 'node:path';
import { z } from 'zod';
import { InvalidArgumentError, fieldViolations } from '@parley/errors';

/** Every setting of `npm start`, from the environment (documented in docs/configuration.md). */
const schema = z.object({
  PARLEY_HTTP_HOST: z.string().min(1).default('0.0.0.0'),
  PARLEY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PARLEY_DATA_DIR: z.string().min(1).default('.data'),
  PARLEY_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(15_000),
  /** The public gRPC API (conversations, customers, events). */
  PARLEY_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(50051),
  /** The availability API (presence, business hours, offers). */
  PARLEY_AVAILABILITY_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(50052),
  /** Routing: offers, accepts, transfers. */
  PARLEY_ROUTING_GRPC_PORT: z.coerce.number().int().min(0).max(65535).default(50053),
  /** Channels: webhooks and the live-chat WebSocket. */
  PARLEY_INGRESS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** The WhatsApp simulator on the HTTP port, wired as the demo tenant's WhatsApp number (`false` turns it off). */
  PARLEY_SIMULATOR: z.enum(['true', 'false']).default('true'),
  /**
   * Optional: a Kafka cluster (comma-separated brokers) the brand's systems publish
   * customer context on (`parley.customer.context`, under PARLEY_KAFKA_NAMESPACE).
   * Everything else stays in the process.
   */
  PARLEY_INTEGRATION_KAFKA_BROKERS: z.string().min(1).optional(),
  PARLEY_KAFKA_NAMESPACE: z.string().default(''),
});

export interface ParleyConfig {
  readonly httpHost: string;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly shutdownTimeoutMs: number;
  readonly grpcPort: number;
  readonly availabilityGrpcPort: number;
  readonly ingressHttpPort: number;
  readonly routingGrpcPort: number;
  readonly simulator: boolean;
  readonly integrationKafka: { readonly brokers: readonly string[]; readonly namespace: string } | null;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ParleyConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new InvalidArgumentError('invalid configuration', fieldViolations(parsed.error.issues));
  }
  const c = parsed.data;
  return {
    httpHost: c.PARLEY_HTTP_HOST,
    httpPort: c.PARLEY_HTTP_PORT,
    dataDir: resolve(c.PARLEY_DATA_DIR),
    shutdownTimeoutMs: c.PARLEY_SHUTDOWN_TIMEOUT_MS,
    grpcPort: c.PARLEY_GRPC_PORT,
    availabilityGrpcPort: c.PARLEY_AVAILABILITY_GRPC_PORT,
    ingressHttpPort: c.PARLEY_INGRESS_HTTP_PORT,
    routingGrpcPort: c.PARLEY_ROUTING_GRPC_PORT,
    simulator: c.PARLEY_SIMULATOR === 'true',
    integrationKafka: c.PARLEY_INTEGRATION_KAFKA_BROKERS
      ? { brokers: c.PARLEY_INTEGRATION_KAFKA_BROKERS.split(',').map((b) => b.trim()), namespace: c.PARLEY_KAFKA_NAMESPACE }
      : null,
  };
}
