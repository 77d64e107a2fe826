import type { ServerWritableStream } from '@grpc/grpc-js';
import { EVENT_CONTRACTS, streams, type AvailabilityEvent } from '@parley/contracts';
import {
  agentDecider,
  queueDecider,
  sameOffer,
  targetingDecider,
  WEEKDAYS,
  type AgentCommand,
  type AgentState,
  type Offer,
  type QueueCommand,
  type QueueEvent,
  type QueueState,
  type Slot,
  type TargetingCommand,
  type TargetingState,
  type Weekday,
} from '@parley/availability-domain';
import { InvalidArgumentError } from '@parley/errors';
import { DeciderStore, type EventLog } from '@parley/event-log';
import { PermissionDeniedError, type Caller, type GrpcEdge, type GrpcHandlers, type Role } from '@parley/grpc-edge';
import type { AvailabilityModel, InvitationWriter } from '@parley/availability-model';

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'admin'];
const CONFIGURERS: readonly Role[] = ['supervisor', 'admin'];
const READERS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];
const PRESENCE = { PRESENCE_ONLINE: 'online', PRESENCE_AWAY: 'away', PRESENCE_OFFLINE: 'offline' } as const;
const ID = /^[A-Za-z0-9_.:-]{1,200}$/;

type Ts = { seconds: number; nanos: number };
const duration = (seconds: number | null) => (seconds === null ? null : { seconds: Math.floor(seconds), nanos: 0 });
const timestamp = (iso: string | null) => (iso ? { seconds: Math.floor(Date.parse(iso) / 1000), nanos: (Date.parse(iso) % 1000) * 1e6 } : null);
const seconds = (d: Ts | null | undefined) => (d ? Number(d.seconds) + (d.nanos ?? 0) / 1e9 : null);

function id(field: string, value: string): string {
  if (!ID.test(value ?? '')) throw new InvalidArgumentError('invalid request', [{ field, description: '1 to 200 letters, digits, _ . : -' }]);
  return value;
}

export function offerToProto(offer: Offer) {
  return offer.kind === 'live-chat'
    ? { queue_id: offer.queueId, live_chat: true, agents_free: offer.agentsFree, expected_answer: null, opens_at: null, reason: '' }
    : {
        queue_id: offer.queueId,
        live_chat: false,
        agents_free: 0,
        expected_answer: duration(offer.expectedAnswerSeconds),
        opens_at: timestamp(offer.opensAt),
        reason: offer.reason,
      };
}

/** The AvailabilityService: writes go through the deciders into the log; reads come from the model. */
export class AvailabilityGrpc {
  private readonly agents: DeciderStore<AgentCommand, Extract<AvailabilityEvent, { type: 'agent.presence-changed' | 'agent.capacity-set' }>, AgentState>;
  private readonly queues: DeciderStore<QueueCommand, QueueEvent, QueueState>;
  private readonly targeting: DeciderStore<TargetingCommand, Extract<AvailabilityEvent, { type: 'targeting.rules-set' }>, TargetingState>;

  constructor(
    log: EventLog,
    private readonly model: AvailabilityModel,
    private readonly invitations: InvitationWriter,
    private readonly edge: GrpcEdge,
    private readonly heartbeats: { set(key: string, at: number): void },
    private readonly tickMs: number,
    private readonly now: () => string = () => new Date().toISOString(),
  ) {
    const common = { log, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1, cacheSize: 10_000 };
    this.agents = new DeciderStore({ ...common, decider: agentDecider });
    this.queues = new DeciderStore({ ...common, decider: queueDecider });
    this.targeting = new DeciderStore({ ...common, decider: targetingDecider });
  }

  /** Sets a presence (also used by the heartbeat sweep). */
  async setPresence(
    tenantId: string,
    agentId: string,
    presence: AgentState['presence'],
    reason: 'manual' | 'heartbeat-lost' | 'disconnected',
    actor: string,
  ): Promise<void> {
    await this.agents.handle(
      streams.agent(tenantId, agentId),
      { type: 'SetPresence', agentId, presence, reason, at: this.now() },
      { tenantId, metadata: { actor } },
    );
    await this.model.catchUp();
  }

  handlers(): GrpcHandlers {
    const e = this.edge;
    const envelope = (caller: Caller) => ({ tenantId: caller.tenantId, metadata: { actor: caller.subject } });
    return {
      SetPresence: e.unary('SetPresence', AGENTS, async (req: { presence: string; agent_id: string }, caller) => {
        const presence = PRESENCE[req.presence as keyof typeof PRESENCE];
        if (!presence) throw new InvalidArgumentError('invalid request', [{ field: 'presence', description: 'online, away or offline' }]);
        const agentId = req.agent_id ? id('agent_id', req.agent_id) : caller.subject;
        if (agentId !== caller.subject && caller.role === 'agent') throw new PermissionDeniedError(caller.role, 'SetPresence for another agent');
        if (presence === 'online') this.heartbeats.set(`${caller.tenantId}/${agentId}`, Date.now());
        await this.setPresence(caller.tenantId, agentId, presence, 'manual', caller.subject);
        return {};
      }),
      Heartbeat: e.unary('Heartbeat', AGENTS, async (_req: unknown, caller) => {
        this.heartbeats.set(`${caller.tenantId}/${caller.subject}`, Date.now());
        // An agent turned away by a lost heartbeat comes back with the next one.
        if (this.model.presenceOf(caller.tenantId, caller.subject) === 'away')
          await this.setPresence(caller.tenantId, caller.subject, 'online', 'manual', caller.subject);
        return {};
      }),
      SetCapacity: e.unary(
        'SetCapacity',
        CONFIGURERS,
        async (req: { agent_id: string; live_chats: number; messaging: number; skills: string[]; languages: string[] }, caller) => {
          const violations = [
            ...(req.live_chats < 0 || req.live_chats > 50 ? [{ field: 'live_chats', description: '0 to 50' }] : []),
            ...(req.messaging < 0 || req.messaging > 500 ? [{ field: 'messaging', description: '0 to 500' }] : []),
          ];
          if (violations.length > 0) throw new InvalidArgumentError('invalid request', violations);
          const agentId = id('agent_id', req.agent_id);
          await this.agents.handle(
            streams.agent(caller.tenantId, agentId),
            { type: 'SetCapacity', agentId, liveChats: req.live_chats, messaging: req.messaging, skills: req.skills, languages: req.languages, at: this.now() },
            envelope(caller),
          );
          await this.model.catchUp();
          return {};
        },
      ),
      SetBusinessHours: e.unary(
        'SetBusinessHours',
        CONFIGURERS,
        async (req: { queue_id: string; time_zone: string; days: { weekday: string; slots: Slot[] }[] }, caller) => {
          const weekly: Partial<Record<Weekday, Slot[]>> = {};
          for (const day of req.days) {
            if (!WEEKDAYS.includes(day.weekday as Weekday))
              throw new InvalidArgumentError('invalid request', [{ field: 'days.weekday', description: 'mon, tue, wed, thu, fri, sat or sun' }]);
            weekly[day.weekday as Weekday] = day.slots.map((s) => ({ from: s.from, to: s.to }));
          }
          const queueId = id('queue_id', req.queue_id);
          await this.queues.handle(
            streams.queue(caller.tenantId, queueId),
            { type: 'SetHours', queueId, timeZone: req.time_zone, weekly, at: this.now() },
            envelope(caller),
          );
          await this.model.catchUp();
          return {};
        },
      ),
      SetHoursException: e.unary('SetHoursException', CONFIGURERS, async (req: { queue_id: string; date: string; slots: Slot[] }, caller) => {
        const queueId = id('queue_id', req.queue_id);
        await this.queues.handle(
          streams.queue(caller.tenantId, queueId),
          { type: 'SetException', queueId, date: req.date, slots: req.slots.map((s) => ({ from: s.from, to: s.to })), at: this.now() },
          envelope(caller),
        );
        await this.model.catchUp();
        return {};
      }),
      RemoveHoursException: e.unary('RemoveHoursException', CONFIGURERS, async (req: { queue_id: string; date: string }, caller) => {
        const queueId = id('queue_id', req.queue_id);
        await this.queues.handle(
          streams.queue(caller.tenantId, queueId),
          { type: 'RemoveException', queueId, date: req.date, at: this.now() },
          envelope(caller),
        );
        await this.model.catchUp();
        return {};
      }),
      SetQueueRequirements: e.unary(
        'SetQueueRequirements',
        CONFIGURERS,
        async (req: { queue_id: string; skills: string[]; languages: string[]; typical_response: Ts | null }, caller) => {
          const queueId = id('queue_id', req.queue_id);
          await this.queues.handle(
            streams.queue(caller.tenantId, queueId),
            {
              type: 'SetRequirements',
              queueId,
              skills: req.skills,
              languages: req.languages,
              typicalResponseSeconds: Math.round(seconds(req.typical_response) ?? 300),
              at: this.now(),
            },
            envelope(caller),
          );
          await this.model.catchUp();
          return {};
        },
      ),
      SetRoutingPolicy: e.unary(
        'SetRoutingPolicy',
        CONFIGURERS,
        async (
          req: {
            queue_id: string;
            strategy: string;
            offer_timeout: Ts | null;
            sticky: Ts | null;
            escalation: { after: Ts | null; action: string; to_queue_id: string }[];
            requeue_live_on_offline: boolean;
          },
          caller,
        ) => {
          const queueId = id('queue_id', req.queue_id);
          if (!['longest-idle', 'least-busy', 'round-robin'].includes(req.strategy))
            throw new InvalidArgumentError('invalid request', [{ field: 'strategy', description: 'longest-idle, least-busy or round-robin' }]);
          const escalation = req.escalation.map((step, i) => {
            const afterSeconds = Math.round(seconds(step.after) ?? 0);
            if (afterSeconds < 1) throw new InvalidArgumentError('invalid request', [{ field: `escalation[${i}].after`, description: 'at least one second' }]);
            if (step.action === 'widen-skills') return { afterSeconds, action: 'widen-skills' as const };
            if (step.action === 'overflow')
              return { afterSeconds, action: 'overflow' as const, toQueueId: id(`escalation[${i}].to_queue_id`, step.to_queue_id) };
            throw new InvalidArgumentError('invalid request', [{ field: `escalation[${i}].action`, description: 'widen-skills or overflow' }]);
          });
          await this.queues.handle(
            streams.queue(caller.tenantId, queueId),
            {
              type: 'SetRoutingPolicy',
              queueId,
              strategy: req.strategy as 'longest-idle',
              offerTimeoutSeconds: Math.max(1, Math.round(seconds(req.offer_timeout) ?? 30)),
              stickySeconds: Math.round(seconds(req.sticky) ?? 60),
              escalation,
              requeueLiveOnOffline: req.requeue_live_on_offline,
              at: this.now(),
            },
            envelope(caller),
          );
          await this.model.catchUp();
          return {};
        },
      ),
      SetTargetingRules: e.unary(
        'SetTargetingRules',
        CONFIGURERS,
        async (
          req: {
            rules: {
              rule_id: string;
              url_pattern: string;
              min_time_on_page_seconds: number;
              min_pages_viewed: number;
              visitor: string;
              attributes: Record<string, string>;
              message: string;
              queue_id: string;
            }[];
            period: Ts | null;
          },
          caller,
        ) => {
          const rules = req.rules.map((r, i) => {
            if (!['', 'ANY', 'RETURNING', 'NEW'].includes(r.visitor))
              throw new InvalidArgumentError('invalid request', [{ field: `rules[${i}].visitor`, description: 'ANY, RETURNING or NEW' }]);
            if (!r.url_pattern || !r.message)
              throw new InvalidArgumentError('invalid request', [{ field: `rules[${i}]`, description: 'url_pattern and message are required' }]);
            return {
              ruleId: id(`rules[${i}].rule_id`, r.rule_id),
              urlPattern: r.url_pattern,
              ...(r.min_time_on_page_seconds ? { minTimeOnPageSeconds: r.min_time_on_page_seconds } : {}),
              ...(r.min_pages_viewed ? { minPagesViewed: r.min_pages_viewed } : {}),
              ...(r.visitor === 'RETURNING' ? { returningVisitor: true } : r.visitor === 'NEW' ? { returningVisitor: false } : {}),
              ...(Object.keys(r.attributes ?? {}).length ? { attributes: r.attributes } : {}),
              message: r.message,
              queueId: id(`rules[${i}].queue_id`, r.queue_id),
            };
          });
          await this.targeting.handle(
            streams.targeting(caller.tenantId),
            { type: 'SetRules', rules, periodSeconds: Math.round(seconds(req.period) ?? 86_400), at: this.now() },
            envelope(caller),
          );
          await this.model.catchUp();
          return {};
        },
      ),
      GetAvailability: e.unary('GetAvailability', READERS, async (req: { queue_id: string }, caller) => ({
        offer: offerToProto(this.model.offer(caller.tenantId, id('queue_id', req.queue_id), this.now())),
      })),
      WatchAvailability: e.serverStream(
        'WatchAvailability',
        READERS,
        async (request: { queue_id: string }, caller, call: ServerWritableStream<{ queue_id: string }, unknown>) => {
          const queueId = id('queue_id', request.queue_id);
          let last: Offer | null = null;
          const check = () => {
            const offer = this.model.offer(caller.tenantId, queueId, this.now());
            if (last && sameOffer(last, offer)) return;
            last = offer;
            call.write({ offer: offerToProto(offer) });
          };
          check();
          const unsubscribe = this.model.onChange((tenantId) => tenantId === caller.tenantId && check());
          // Opening hours change the offer without any event: look at the clock too.
          const timer = setInterval(check, this.tickMs);
          await new Promise<void>((resolve) => {
            call.on('cancelled', resolve);
            call.on('close', resolve);
            call.on('error', () => resolve());
          });
          clearInterval(timer);
          unsubscribe();
        },
      ),
      EvaluatePage: e.unary(
        'EvaluatePage',
        READERS,
        async (
          req: {
            visitor_id: string;
            queue_id: string;
            url: string;
            time_on_page_seconds: number;
            pages_viewed: number;
            returning_visitor: boolean;
            attributes: Record<string, string>;
          },
          caller,
        ) => {
          const visitorId = id('visitor_id', req.visitor_id);
          const queueId = id('queue_id', req.queue_id);
          if (!req.url || req.url.length > 2048)
            throw new InvalidArgumentError('invalid request', [{ field: 'url', description: 'the page URL, up to 2048 characters' }]);
          const at = this.now();
          const offer = this.model.offer(caller.tenantId, queueId, at);
          const view = {
            url: req.url,
            timeOnPageSeconds: req.time_on_page_seconds,
            pagesViewed: req.pages_viewed,
            returningVisitor: req.returning_visitor,
            attributes: req.attributes ?? {},
          };
          const rule = await this.invitations.evaluate({ tenantId: caller.tenantId, queueId, visitorId, view, at, actor: caller.subject });
          return { offer: offerToProto(offer), invitation_rule_id: rule?.ruleId ?? '', invitation_message: rule?.message ?? '' };
        },
      ),
      AnswerInvitation: e.unary('AnswerInvitation', READERS, async (req: { visitor_id: string; rule_id: string; accepted: boolean }, caller) => {
        const visitorId = id('visitor_id', req.visitor_id);
        await this.invitations.answer({
          tenantId: caller.tenantId,
          visitorId,
          ruleId: id('rule_id', req.rule_id),
          accepted: req.accepted,
          at: this.now(),
          actor: caller.subject,
        });
        return {};
      }),
    };
  }
}
