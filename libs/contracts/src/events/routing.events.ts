import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * A queue's routing decisions, stream `routing-<tenant>-<queueId>`: one writer
 * per queue at a time (the Kafka partition owner), so no conversation is ever
 * offered or assigned twice. The conversation's own log gets the assignment too.
 */
const Kind = z.enum(['live', 'messaging']);
export const RoutingEnqueued = contract(
  'routing.enqueued',
  1,
  z.object({
    conversationId: Id,
    kind: Kind,
    priority: z.number().int().min(0).max(10),
    skills: z.array(z.string()).max(50),
    preferredAgentId: Id.optional(),
    reason: z.enum(['new', 'reopened', 'transferred', 'requeued', 'overflow']),
    at: Instant,
  }),
);
export const RoutingOffered = contract(
  'routing.offered',
  1,
  z.object({ conversationId: Id, offerId: Id, agentId: Id, expiresAt: Instant, transferFromAgentId: Id.optional(), at: Instant }),
);
export const RoutingOfferDeclined = contract(
  'routing.offer-declined',
  1,
  z.object({ conversationId: Id, offerId: Id, agentId: Id, reason: z.enum(['declined', 'timed-out', 'agent-offline']), at: Instant }),
);
export const RoutingAssigned = contract(
  'routing.assigned',
  1,
  z.object({ conversationId: Id, agentId: Id, offerId: Id.optional(), by: z.enum(['accept', 'pick', 'transfer']), at: Instant }),
);
export const RoutingReleased = contract(
  'routing.released',
  1,
  z.object({ conversationId: Id, agentId: Id, reason: z.enum(['agent-offline', 'transferred', 'resolved']), at: Instant }),
);
export const RoutingEscalated = contract(
  'routing.escalated',
  1,
  z.object({ conversationId: Id, step: z.number().int().min(1), action: z.enum(['widen-skills', 'overflow']), toQueueId: Id.optional(), at: Instant }),
);
/** Every agent who could take the conversation declined or missed it: after a back-off they are all asked again. */
export const RoutingRoundStarted = contract('routing.round-started', 1, z.object({ conversationId: Id, round: z.number().int().min(2), at: Instant }));
export const RoutingLeft = contract(
  'routing.left',
  1,
  z.object({ conversationId: Id, reason: z.enum(['overflow', 'transferred', 'resolved']), toQueueId: Id.optional(), at: Instant }),
);

const Scalar = z.union([z.string().max(256), z.number(), z.boolean()]);
const RoutingRule = z.object({
  ruleId: Id,
  /** Where a matching conversation waits. */
  queueId: Id,
  /** Any of these channels (whatsapp, web, …); any channel if absent. */
  channels: z.array(z.string().min(1).max(32)).max(20).optional(),
  /** Any of these languages (BCP 47; `de` also matches `de-AT`), from the customer's `language` attribute. */
  languages: z.array(z.string().min(2).max(15)).max(20).optional(),
  /** Customer attributes that must all equal these values. */
  attributes: z.record(z.string().min(1).max(128), Scalar).optional(),
  /** Skills the conversation needs beyond its queue's: only agents with all of them are offered it. */
  skills: z.array(z.string().min(1).max(64)).max(20).optional(),
});
/**
 * A tenant's routing rules, stream `routing-<tenant>`: the first rule a new or
 * reopened conversation matches picks its queue; none matching, the default queue.
 */
export const RoutingRulesSet = contract('routing.rules-set', 1, z.object({ rules: z.array(RoutingRule).max(100), defaultQueueId: Id, at: Instant }));
export type RoutingRuleData = z.infer<typeof RoutingRule>;

export const ROUTING_EVENTS = [
  RoutingEnqueued,
  RoutingOffered,
  RoutingOfferDeclined,
  RoutingAssigned,
  RoutingReleased,
  RoutingEscalated,
  RoutingRoundStarted,
  RoutingLeft,
  RoutingRulesSet,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
/** A queue's routing decisions (stream `routing-<tenant>-<queue>`). */
export type RoutingEvent = Exclude<DataOf<(typeof ROUTING_EVENTS)[number]>, { type: 'routing.rules-set' }>;
export type RoutingRulesEvent = Extract<DataOf<(typeof ROUTING_EVENTS)[number]>, { type: 'routing.rules-set' }>;
