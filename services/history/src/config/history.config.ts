import { z } from 'zod';
import { STORAGE_SETTINGS, parseSettings } from '@parley/storage';

const schema = z.object({
  ...STORAGE_SETTINGS,
  PARLEY_HISTORY_GRPC_ADDRESS: z.string().default('0.0.0.0:50051'),
  PARLEY_HISTORY_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  /** Comma-separated HS256 secrets for bearer tokens (several while rotating). */
  PARLEY_TOKEN_SECRETS: z.string().min(32),
  /** Per tenant, the secret it signs its users' ids with: `tenant:secret,tenant2:secret2`. */
  PARLEY_IDENTITY_SECRETS: z.string().optional(),
  PARLEY_TOKEN_AUDIENCE: z.string().default('parley'),
  PARLEY_TOKEN_ISSUER: z.string().optional(),
  /** Whether a bot's answer counts as a response in service levels (first response time). */
  PARLEY_SLA_COUNT_BOTS: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  PARLEY_TLS_CERT_FILE: z.string().optional(),
  PARLEY_TLS_KEY_FILE: z.string().optional(),
  PARLEY_TLS_CLIENT_CA_FILE: z.string().optional(),
});

export type HistoryConfig = z.infer<typeof schema>;

export function loadHistoryConfig(env: NodeJS.ProcessEnv = process.env): HistoryConfig {
  return parseSettings(schema, env);
}
