/**
 * Stream ids are the Kafka keys and the log's partition of the world, shared by
 * every service. They carry the tenant, so a caller naming another tenant's id
 * reaches an empty stream: NOT_FOUND, exactly like an id that does not exist.
 * They never carry personal data.
 */
export const streams = {
  conversation: (tenantId: string, conversationId: string) => `conversation-${tenantId}-${conversationId}`,
  customer: (tenantId: string, customerId: string) => `customer-${tenantId}-${customerId}`,
  /** `digest`: a keyed hash of the identity key, never the identity itself. */
  agent: (tenantId: string, agentId: string) => `agent-${tenantId}-${agentId}`,
  queue: (tenantId: string, queueId: string) => `queue-${tenantId}-${queueId}`,
  routing: (tenantId: string, queueId: string) => `routing-${tenantId}-${queueId}`,
  /** The tenant's routing rules: which queue a conversation goes to. */
  routingRules: (tenantId: string) => `routing-${tenantId}`,
  targeting: (tenantId: string) => `targeting-${tenantId}`,
  visitor: (tenantId: string, visitorId: string) => `visitor-${tenantId}-${visitorId}`,
  identityClaim: (tenantId: string, digest: string) => `identity-${tenantId}-${digest}`,
  /** What the tenant's agents share: canned responses. */
  workspace: (tenantId: string) => `workspace-${tenantId}`,
  /** The log's own streams (leases, health) start with `parley-`: never published, no tenant. */
  lease: (name: string) => `parley-lease-${name}`,
} as const;

/** Every stream category (a stream id up to its first '-'); the outbox publishes each to `parley.<category>.events`. */
export const STREAM_CATEGORIES = ['conversation', 'customer', 'agent', 'queue', 'routing', 'targeting', 'visitor', 'identity', 'workspace'] as const;

/** Streams of the log's own housekeeping (leases): the outbox marks them published without publishing them. */
export const INTERNAL_STREAM_PREFIX = 'parley-';

/** The Kafka topic of a stream category's events. */
export function eventsTopic(category: (typeof STREAM_CATEGORIES)[number]): string {
  return `parley.${category}.events`;
}
