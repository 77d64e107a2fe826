import { z } from 'zod';
import { STORAGE_SETTINGS, parseSettings } from '@parley/storage';

const schema = z.object({
  ...STORAGE_SETTINGS,
  PARLEY_AVAILABILITY_GRPC_ADDRESS: z.string().default('0.0.0.0:50052'),
  PARLEY_AVAILABILITY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8083),
  PARLEY_TOKEN_SECRETS: z.string().min(32),
  PARLEY_TOKEN_AUDIENCE: z.string().default('parley'),
  /** An online agent without a heartbeat for this long turns away... */
  PARLEY_PRESENCE_AWAY_AFTER_MS: z.coerce.number().int().min(100).default(30_000),
  /** ...and offline after this long. */
  PARLEY_PRESENCE_OFFLINE_AFTER_MS: z.coerce.number().int().min(100).default(120_000),
  /** How often offers are checked against the clock (a queue closing is no event). */
  PARLEY_AVAILABILITY_TICK_MS: z.coerce.number().int().min(10).default(1000),
});

export type AvailabilityConfig = z.infer<typeof schema>;

export function loadAvailabilityConfig(env: NodeJS.ProcessEnv = process.env): AvailabilityConfig {
  return parseSettings(schema, env);
}
