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

export const ROUTING_EVENTS = [
  RoutingEnqueued,
  RoutingOffered,
  RoutingOfferDeclined,
  RoutingAssigned,
  RoutingReleased,
  RoutingEscalated,
  RoutingRoundStarted,
  RoutingLeft,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type RoutingEvent = DataOf<(typeof ROUTING_EVENTS)[number]>;
