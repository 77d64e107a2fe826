import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { contract } from './event-schema.registry';

const Slot = z.object({ from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/), to: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/) });
const Weekday = z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
const Scalar = z.union([z.string().max(256), z.number(), z.boolean()]);

/** An agent's presence: set by the agent, or by Parley when their heartbeat stops. Stream `agent-<tenant>-<agentId>`. */
export const PresenceChanged = contract(
  'agent.presence-changed',
  1,
  z.object({ agentId: Id, presence: z.enum(['online', 'away', 'offline']), reason: z.enum(['manual', 'heartbeat-lost', 'disconnected']), at: Instant }),
);
/** How much work of each kind an agent takes at once, and what they can do. */
export const CapacitySet = contract(
  'agent.capacity-set',
  1,
  z.object({
    agentId: Id,
    liveChats: z.number().int().min(0).max(50),
    messaging: z.number().int().min(0).max(500),
    skills: z.array(z.string().min(1).max(64)).max(50),
    languages: z.array(z.string().min(2).max(15)).max(20),
    at: Instant,
  }),
);

/** A queue's weekly opening hours in its time zone. Stream `queue-<tenant>-<queueId>`. */
export const QueueHoursSet = contract(
  'queue.hours-set',
  1,
  z.object({ queueId: Id, timeZone: z.string().min(1).max(64), weekly: z.partialRecord(Weekday, z.array(Slot).max(8)), at: Instant }),
);
/** A dated exception: closed all day (no slots) or special hours. */
export const QueueExceptionSet = contract(
  'queue.exception-set',
  1,
  z.object({ queueId: Id, date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), slots: z.array(Slot).max(8), at: Instant }),
);
export const QueueExceptionRemoved = contract(
  'queue.exception-removed',
  1,
  z.object({ queueId: Id, date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/), at: Instant }),
);
/** What the queue's live chats need, and how fast it usually answers. */
export const QueueRequirementsSet = contract(
  'queue.requirements-set',
  1,
  z.object({
    queueId: Id,
    skills: z.array(z.string().min(1).max(64)).max(50),
    languages: z.array(z.string().min(2).max(15)).max(20),
    typicalResponseSeconds: z
      .number()
      .int()
      .min(0)
      .max(30 * 86_400),
    at: Instant,
  }),
);

const Escalation = z.discriminatedUnion('action', [
  z.object({ afterSeconds: z.number().int().min(1), action: z.literal('widen-skills') }),
  z.object({ afterSeconds: z.number().int().min(1), action: z.literal('overflow'), toQueueId: Id }),
]);
/** How a queue routes: its strategy, offer timeout, sticky window, escalation steps, and what happens when an agent leaves. */
export const QueueRoutingPolicySet = contract(
  'queue.routing-policy-set',
  1,
  z.object({
    queueId: Id,
    strategy: z.enum(['longest-idle', 'least-busy', 'round-robin']),
    offerTimeoutSeconds: z.number().int().min(1).max(3600),
    stickySeconds: z.number().int().min(0).max(86_400),
    escalation: z.array(Escalation).max(10),
    requeueLiveOnOffline: z.boolean(),
    at: Instant,
  }),
);

const Rule = z.object({
  ruleId: Id,
  urlPattern: z.string().min(1).max(2048),
  minTimeOnPageSeconds: z.number().int().min(0).optional(),
  minPagesViewed: z.number().int().min(0).optional(),
  returningVisitor: z.boolean().optional(),
  attributes: z.record(z.string().max(64), Scalar).optional(),
  message: z.string().min(1).max(1000),
  queueId: Id,
});
/** A tenant's proactive invitation rules, in order. Stream `targeting-<tenant>`. */
export const TargetingRulesSet = contract(
  'targeting.rules-set',
  1,
  z.object({
    rules: z.array(Rule).max(100),
    periodSeconds: z
      .number()
      .int()
      .min(0)
      .max(365 * 86_400),
    at: Instant,
  }),
);

/** Invitations, per visitor (stream `visitor-<tenant>-<visitorId>`), so conversion can be measured. */
export const InvitationShown = contract('invitation.shown', 1, z.object({ visitorId: Id, ruleId: Id, at: Instant }));
export const InvitationAnswered = contract('invitation.answered', 1, z.object({ visitorId: Id, ruleId: Id, accepted: z.boolean(), at: Instant }));

export const AVAILABILITY_EVENTS = [
  PresenceChanged,
  CapacitySet,
  QueueHoursSet,
  QueueExceptionSet,
  QueueExceptionRemoved,
  QueueRequirementsSet,
  QueueRoutingPolicySet,
  TargetingRulesSet,
  InvitationShown,
  InvitationAnswered,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type AvailabilityEvent = DataOf<(typeof AVAILABILITY_EVENTS)[number]>;
export type TargetingRuleData = z.infer<typeof Rule>;
export type RoutingPolicyData = Omit<z.infer<typeof QueueRoutingPolicySet.schema>, 'queueId' | 'at'>;
