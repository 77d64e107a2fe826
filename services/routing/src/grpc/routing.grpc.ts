import { randomUUID } from 'node:crypto';
import { streams } from '@parley/contracts';
import { InvalidArgumentError } from '@parley/errors';
import { PermissionDeniedError, type Caller, type GrpcEdge, type GrpcHandlers, type Role } from '@parley/grpc-edge';
import { AgentAtCapacityError } from '@parley/routing-domain';
import type { RoutingEngine } from '../engine/routing.engine';
import type { RoutingWork } from '../engine/routing.work';

const AGENTS: readonly Role[] = ['agent', 'supervisor', 'admin'];
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
  ) {}

  handlers(): GrpcHandlers {
    const e = this.edge;
    const now = () => new Date().toISOString();
    const after = (caller: Caller, queueId: string) => this.work.publish({ op: 'tick', tenantId: caller.tenantId, queueId });
    return {
      ListOffers: e.unary('ListOffers', AGENTS, async (req: { queue_ids: string[] }, caller) => {
        const offers = [];
        for (const queueId of req.queue_ids.map((q) => id('queue_ids', q))) {
          const { state } = await this.engine.queues.load(streams.routing(caller.tenantId, queueId));
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
          const queueId = id('queue_id', req.queue_id);
          if (!req.to_agent_id === !req.to_queue_id)
            throw new InvalidArgumentError('invalid request', [{ field: 'to_agent_id', description: 'one of to_agent_id and to_queue_id' }]);
          const to = req.to_agent_id
            ? { kind: 'agent' as const, agentId: id('to_agent_id', req.to_agent_id) }
            : { kind: 'queue' as const, queueId: id('to_queue_id', req.to_queue_id) };
          const events = await this.engine.run(
            caller.tenantId,
            queueId,
            [
              {
                type: 'Transfer',
                conversationId: id('conversation_id', req.conversation_id),
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
    };
  }
}
