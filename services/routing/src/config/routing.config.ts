import { z } from 'zod';
import { STORAGE_SETTINGS, parseSettings } from '@parley/storage';

const schema = z.object({
  ...STORAGE_SETTINGS,
  PARLEY_ROUTING_GRPC_ADDRESS: z.string().default('0.0.0.0:50053'),
  PARLEY_ROUTING_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8084),
  PARLEY_TOKEN_SECRETS: z.string().min(32),
  PARLEY_TOKEN_AUDIENCE: z.string().default('parley'),
  /** The queue new conversations of every tenant enter. */
  PARLEY_ROUTING_QUEUE: z.string().default('support'),
  PARLEY_ROUTING_STRATEGY: z.enum(['longest-idle', 'least-busy', 'round-robin']).default('longest-idle'),
  PARLEY_ROUTING_OFFER_TIMEOUT_SECONDS: z.coerce.number().int().min(1).default(30),
  PARLEY_ROUTING_STICKY_SECONDS: z.coerce.number().int().min(0).default(60),
  PARLEY_ROUTING_REQUEUE_LIVE_ON_OFFLINE: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /** How often each queue is looked at again (timeouts, agents freed). */
  PARLEY_ROUTING_TICK_MS: z.coerce.number().int().min(20).default(1000),
});

export type RoutingConfig = z.infer<typeof schema>;

export function loadRoutingConfig(env: NodeJS.ProcessEnv = process.env): RoutingConfig {
  return parseSettings(schema, env);
}
