import { randomUUID } from 'node:crypto';
import { streams, type RoutingRuleData } from '@parley/contracts';
import { InvalidArgumentError } from '@parley/errors';
import { PermissionDeniedError, type Caller, type GrpcEdge, type GrpcHandlers, type Role } from '@parley/grpc-edge';
import { AgentAtCapacityError, NotInQueueError } from '@parley/routing-domain';
import type { RoutingEngine } from '../engine/routing.engine';
import type { RoutingWork } from '../engine/routing.work';
import type { RoutingRulesBook } from '../rules/routing-rules.book';

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'admin'];
const CONFIGURERS: readonly Role[] = ['supervisor', 'admin'];
const READERS: readonly Role[] = ['agent', 'supervisor', 'integration', 'admin'];
const CHANNELS = ['whatsapp', 'messenger', 'apple', 'web', 'sms', 'email', 'custom'];
const LANGUAGE = /^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/;

interface ProtoRoutingRule {
  rule_id: string;
  queue_id: string;
  channels: string[];
  languages: string[];
  attributes: Record<string, string>;
  skills: string[];
}

function ruleFromProto(r: ProtoRoutingRule, i: number): RoutingRuleData {
  const field = (name: string) => `rules[${i}].${name}`;
  const invalid = (name: string, description: string) => new InvalidArgumentError('invalid request', [{ field: field(name), description }]);
  const channels = r.channels.map((c) => {
    if (!CHANNELS.includes(c)) throw invalid('channels', `one of ${CHANNELS.join(', ')}`);
    return c;
  });
  const languages = r.languages.map((l) => {
    if (!LANGUAGE.test(l) || l.length > 15) throw invalid('languages', 'BCP 47 tags such as de or de-AT');
    return l;
  });
  const attributes = Object.entries(r.attributes ?? {});
  if (attributes.some(([k, v]) => k.length === 0 || k.length > 128 || v.length > 256))
    throw invalid('attributes', 'keys of 1 to 128 characters, values up to 256');
  if (r.skills.some((k) => k.length === 0 || k.length > 64)) throw invalid('skills', '1 to 64 characters each');
  if (channels.length > 20 || languages.length > 20 || attributes.length > 20 || r.skills.length > 20) throw invalid('', 'at most 20 of each condition');
  return {
    ruleId: id(field('rule_id'), r.rule_id),
    queueId: id(field('queue_id'), r.queue_id),
    ...(channels.length ? { channels } : {}),
    ...(languages.length ? { languages } : {}),
    ...(attributes.length ? { attributes: Object.fromEntries(attributes) } : {}),
    ...(r.skills.length ? { skills: r.skills } : {}),
  };
}

function ruleToProto(r: RoutingRuleData): ProtoRoutingRule {
  return {
    rule_id: r.ruleId,
    queue_id: r.queueId,
    channels: [...(r.channels ?? [])],
    languages: [...(r.languages ?? [])],
    attributes: Object.fromEntries(Object.entries(r.attributes ?? {}).map(([k, v]) => [k, String(v)])),
    skills: [...(r.skills ?? [])],
  };
}
/** How stale an agent's list of offers may be (another replica's decisions; this replica's show at once). */
const OFFERS_FRESH_MS = 500;
const ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const id = (field: string, value: string) => {
  if (!ID.test(value ?? '')) throw new InvalidArgumentError('invalid request', [{ field, description: '1 to 200 letters, digits, _ . : -' }]);
  return value;
};
const timestamp = (iso: string) => ({ seconds: Math.floor(Date.parse(iso) / 1000), nanos: (Date.parse(iso) % 1000) * 1e6 });

/** Accepts, declines, picks and transfers go straight to the queue's log (its versions keep them exact), then the queue is looked at again. */
export class RoutingGrpc {
  constructor(
    private readonly engine: RoutingEngine,
    private readonly work: RoutingWork,
    private readonly edge: GrpcEdge,
    private readonly rules: RoutingRulesBook,
  ) {}

  /** The queue a conversation waits in, or was last assigned in (the conversation keeps it). */
  private async queueOf(tenantId: string, conversationId: string): Promise<string> {
    const { state } = await this.engine.conversationState(tenantId, conversationId);
    const queueId = state.queueId ?? state.lastQueueId;
    if (!queueId) throw new NotInQueueError(conversationId);
    return queueId;
  }

  handlers(): GrpcHandlers {
    const e = this.edge;
    const now = () => new Date().toISOString();
    const after = (caller: Caller, queueId: string) => this.work.publish({ op: 'tick', tenantId: caller.tenantId, queueId });
    return {
      ListOffers: e.unary('ListOffers', AGENTS, async (req: { queue_ids: string[] }, caller) => {
        const offers = [];
        const queues = req.queue_ids.length > 0 ? req.queue_ids.map((q) => id('queue_ids', q)) : await this.rules.queues(caller.tenantId);
        for (const queueId of queues) {
          // Desktops poll: each queue is read at most once per OFFERS_FRESH_MS however many ask.
          const state = await this.engine.recentState(caller.tenantId, queueId, OFFERS_FRESH_MS);
          for (const o of state.offers)
            if (o.agentId === caller.subject && Date.parse(o.expiresAt) > Date.now())
              offers.push({
                offer_id: o.offerId,
                queue_id: queueId,
                conversation_id: o.conversationId,
                expires_at: timestamp(o.expiresAt),
                transfer_from_agent_id: o.transferFromAgentId ?? '',
              });
        }
        return { offers };
      }),
      AcceptOffer: e.unary('AcceptOffer', AGENTS, async (req: { queue_id: string; offer_id: string }, caller) => {
        const queueId = id('queue_id', req.queue_id);
        const events = await this.engine.run(
          caller.tenantId,
          queueId,
          [{ type: 'Accept', offerId: id('offer_id', req.offer_id), agentId: caller.subject, at: now() }],
          caller.subject,
        );
        await after(caller, queueId);
        const assigned = events.find((ev) => ev.type === 'routing.assigned');
        return { conversation_id: assigned?.data.conversationId ?? '' };
      }),
      DeclineOffer: e.unary('DeclineOffer', AGENTS, async (req: { queue_id: string; offer_id: string }, caller) => {
        const queueId = id('queue_id', req.queue_id);
        await this.engine.run(
          caller.tenantId,
          queueId,
          [{ type: 'Decline', offerId: id('offer_id', req.offer_id), agentId: caller.subject, at: now() }],
          caller.subject,
        );
        await after(caller, queueId);
        return {};
      }),
      PickConversation: e.unary('PickConversation', AGENTS, async (req: { queue_id: string; conversation_id: string; agent_id: string }, caller) => {
        const queueId = id('queue_id', req.queue_id);
        const agentId = req.agent_id ? id('agent_id', req.agent_id) : caller.subject;
        if (agentId !== caller.subject && caller.role === 'agent') throw new PermissionDeniedError(caller.role, 'PickConversation for another agent');
        const { state } = await this.engine.queues.load(streams.routing(caller.tenantId, queueId));
        const agent = this.engine.agents(caller.tenantId, state).find((a) => a.agentId === agentId);
        if (!agent) throw new AgentAtCapacityError(agentId);
        await this.engine.run(
          caller.tenantId,
          queueId,
          [{ type: 'Pick', conversationId: id('conversation_id', req.conversation_id), agent, at: now() }],
          caller.subject,
        );
        return {};
      }),
      TransferConversation: e.unary(
        'TransferConversation',
        AGENTS,
        async (req: { queue_id: string; conversation_id: string; to_agent_id: string; to_queue_id: string; warm: boolean }, caller) => {
          const conversationId = id('conversation_id', req.conversation_id);
          const from = req.queue_id ? id('queue_id', req.queue_id) : null;
          if (!req.to_agent_id === !req.to_queue_id)
            throw new InvalidArgumentError('invalid request', [{ field: 'to_agent_id', description: 'one of to_agent_id and to_queue_id' }]);
          const to = req.to_agent_id
            ? { kind: 'agent' as const, agentId: id('to_agent_id', req.to_agent_id) }
            : { kind: 'queue' as const, queueId: id('to_queue_id', req.to_queue_id) };
          const queueId = from ?? (await this.queueOf(caller.tenantId, conversationId));
          const events = await this.engine.run(
            caller.tenantId,
            queueId,
            [
              {
                type: 'Transfer',
                conversationId,
                to,
                mode: req.warm ? 'warm' : 'cold',
                offerId: randomUUID(),
                policy: this.engine.policyOf(caller.tenantId, queueId),
                at: now(),
              },
            ],
            caller.subject,
          );
          for (const ev of events)
            if (ev.type === 'routing.left' && ev.data.toQueueId)
              await this.work.publish({
                op: 'enqueue',
                tenantId: caller.tenantId,
                queueId: ev.data.toQueueId,
                conversationId: ev.data.conversationId,
                kind: 'messaging',
                priority: 5,
                reason: 'transferred',
              });
          await after(caller, queueId);
          return {};
        },
      ),
      SetRoutingRules: e.unary('SetRoutingRules', CONFIGURERS, async (req: { rules: ProtoRoutingRule[]; default_queue_id: string }, caller) => {
        if (req.rules.length > 100) throw new InvalidArgumentError('invalid request', [{ field: 'rules', description: 'at most 100 rules' }]);
        const rules = req.rules.map(ruleFromProto);
        const defaultQueueId = id('default_queue_id', req.default_queue_id);
        return { changed: await this.rules.set(caller.tenantId, rules, defaultQueueId, caller.subject, now()) };
      }),
      GetRoutingRules: e.unary('GetRoutingRules', READERS, async (_req: unknown, caller) => {
        const state = await this.rules.rules(caller.tenantId);
        return { rules: state.rules.map(ruleToProto), default_queue_id: state.defaultQueueId ?? '' };
      }),
    };
  }
}
