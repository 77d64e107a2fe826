import { z } from 'zod';
import { STORAGE_SETTINGS, parseSettings } from '@parley/storage';

/** Which tenant each business number, page and Apple business belongs to, and their credentials. */
const ChannelAccounts = z.object({
  meta: z
    .object({
      /** The Meta app's secret: signs every webhook (X-Hub-Signature-256). */
      appSecret: z.string().min(8),
      /** What we answer Meta's GET handshake with. */
      verifyToken: z.string().min(8),
      /** Our app id: Messenger echoes of our own sends carry it and are skipped. */
      appId: z.string().min(1).optional(),
    })
    .optional(),
  whatsapp: z.array(z.object({ phoneNumberId: z.string().min(1), tenantId: z.string().min(1), accessToken: z.string().min(1) })).default([]),
  messenger: z.array(z.object({ pageId: z.string().min(1), tenantId: z.string().min(1), accessToken: z.string().min(1) })).default([]),
  apple: z
    .array(
      z.object({
        /** Apple's business id (the destination-id of inbound messages). */
        businessId: z.string().min(1),
        tenantId: z.string().min(1),
        /** Our Messaging Service Provider id: the audience of Apple's tokens. */
        mspId: z.string().min(1),
        /** The shared secret, base64, that Apple's tokens are signed with (HS256). */
        secret: z.string().min(1),
      }),
    )
    .default([]),
});
export type ChannelAccounts = z.infer<typeof ChannelAccounts>;

const json = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});

const schema = z.object({
  ...STORAGE_SETTINGS,
  PARLEY_INGRESS_HTTP_HOST: z.string().default('0.0.0.0'),
  PARLEY_INGRESS_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8082),
  /** JSON: see ChannelAccounts. */
  PARLEY_CHANNELS: json.pipe(ChannelAccounts).default({ whatsapp: [], messenger: [], apple: [] }),
  PARLEY_GRAPH_BASE_URL: z.string().url().default('https://graph.facebook.com/v23.0'),
  PARLEY_APPLE_GATEWAY_URL: z.string().url().default('https://mspgw.push.apple.com/v1'),
  /** Messages per second per WhatsApp business number (Meta's default throughput is 80). */
  PARLEY_OUTBOUND_RATE_PER_NUMBER: z.coerce.number().positive().default(80),
  /** Messages per second to one recipient, with a burst of five. */
  PARLEY_OUTBOUND_RATE_PER_RECIPIENT: z.coerce.number().positive().default(1),
  PARLEY_OUTBOUND_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(5),
  PARLEY_OUTBOUND_BACKOFF_MS: z.coerce.number().int().min(1).default(250),
  /** Replies older than this when first seen are not sent (a new deployment over an old log). */
  PARLEY_OUTBOUND_MAX_AGE_MS: z.coerce.number().int().min(1).default(3_600_000),
  /** Per tenant, the secret it signs its users' ids with: `tenant:secret,tenant2:secret2` (as the history service). */
  PARLEY_IDENTITY_SECRETS: z.string().default(''),
  /**
   * Deliver replies to the channels from this instance. Exactly one instance of a
   * deployment may: its markers keep a restart from sending twice, but they are
   * no lock between instances. The Helm chart runs it as its own one-replica
   * Deployment and turns it off in the scaled webhook instances.
   */
  PARLEY_INGRESS_OUTBOUND: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Synthetic webhooks run through the webhook path on a throwaway in-memory
   * database before the service listens, so that its first real traffic meets
   * compiled code (about a second of start-up per 2,000); 0: none.
   */
  PARLEY_INGRESS_WARMUP_MESSAGES: z.coerce.number().int().min(0).max(100_000).default(2000),
  /** Tenants whose sites may open live chats, comma-separated; empty: any. */
  PARLEY_LIVE_TENANTS: z.string().default(''),
  /**
   * The websites that may carry each tenant's widget, as JSON: {"acme": ["https://www.acme.com",
   * "https://*.acme.com", "http://localhost:*"]}. Pages Parley serves itself are always allowed;
   * any other origin is refused (403 ORIGIN_NOT_ALLOWED, WebSocket closed with 4403).
   */
  PARLEY_WIDGET_ORIGINS: json.pipe(z.record(z.string(), z.array(z.string().min(1)))).default({}),
  /** A live-chat session ends when the visitor's last connection has been gone this long. */
  PARLEY_LIVE_SESSION_GRACE_MS: z.coerce.number().int().min(0).default(60_000),
});

/** `tenant:secret,…` as a lookup. */
export function secretsByTenant(list: string): (tenantId: string) => string | undefined {
  const map = new Map(
    list
      .split(',')
      .filter(Boolean)
      .map((pair) => [pair.slice(0, pair.indexOf(':')), pair.slice(pair.indexOf(':') + 1)] as const),
  );
  return (tenantId) => map.get(tenantId);
}

export type IngressConfig = z.infer<typeof schema>;

export function loadIngressConfig(env: NodeJS.ProcessEnv = process.env): IngressConfig {
  return parseSettings(schema, env);
}
