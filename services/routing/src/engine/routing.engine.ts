import { randomUUID } from 'node:crypto';
import { EVENT_CONTRACTS, streams, type ConversationEvent, type RoutingEvent } from '@parley/contracts';
import type { AvailabilityModel } from '@parley/availability-model';
import { SNAPSHOT_SCHEMA_VERSION, conversationDecider, type ConversationCommand, type ConversationState } from '@parley/conversation';
import { ParleyError } from '@parley/errors';
import { DeciderStore, type EventLog } from '@parley/event-log';
import { counter, gauge, histogram, type Logger, type Registry } from '@parley/observability';
import { ConversationMetrics } from '@parley/conversation-metrics';
import { routingDecider, type AgentView, type QueuePolicy, type RoutingCommand, type RoutingState } from '@parley/routing-domain';

/**
 * Runs routing commands on a queue's log and mirrors each decision onto the
 * conversation's own log (queued, offered, assigned...), where the timeline,
 * the lists and the availability model see it.
 */
/** Queues whose recent state is kept for polling readers. */
const RECENT_QUEUES = 10_000;

export class RoutingEngine {
  readonly queues: DeciderStore<RoutingCommand, RoutingEvent, RoutingState>;
  private readonly conversations: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>;
  private readonly metrics;
  private readonly recent = new Map<string, { readonly at: number; readonly state: Promise<RoutingState> }>();

  constructor(
    log: EventLog,
    private readonly model: AvailabilityModel,
    readonly policy: QueuePolicy,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.queues = new DeciderStore({ log, decider: routingDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 2, snapshotEvery: 500, cacheSize: 1000 });
    this.conversations = new DeciderStore({
      log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      cacheSize: 10_000,
      onAppended: new ConversationMetrics(registry).onAppended,
    });
    this.metrics = {
      decisions: counter(registry, {
        name: 'parley_routing_decisions_total',
        help: 'Routing events by type: offers, accepts (assigned), declines and timeouts, transfers, escalations.',
        labelNames: ['type', 'reason'] as const,
      }),
      depth: gauge(registry, { name: 'parley_routing_queue_depth', help: 'Conversations waiting, by queue id.', labelNames: ['queue'] as const }),
      waited: histogram(registry, {
        name: 'parley_routing_wait_seconds',
        help: 'From entering the queue to being assigned.',
        buckets: [1, 5, 15, 30, 60, 120, 300, 900, 1800, 3600],
      }),
    };
  }

  /**
   * A queue's state for readers that poll (agents' desktops asking for offers): loaded
   * at most once per `maxAgeMs` per queue, however many desktops ask, instead of a read
   * of the log each. What this replica decides for the queue is seen at once (run()
   * drops the entry); another replica's decisions, within `maxAgeMs`.
   */
  async recentState(tenantId: string, queueId: string, maxAgeMs: number): Promise<RoutingState> {
    const stream = streams.routing(tenantId, queueId);
    const kept = this.recent.get(stream);
    if (kept && Date.now() - kept.at < maxAgeMs) return kept.state;
    const entry = { at: Date.now(), state: this.queues.load(stream).then((r) => r.state) };
    this.recent.set(stream, entry);
    entry.state.catch(() => this.recent.get(stream) === entry && this.recent.delete(stream));
    if (this.recent.size > RECENT_QUEUES) this.recent.delete(this.recent.keys().next().value!);
    return entry.state;
  }

  async run(tenantId: string, queueId: string, commands: readonly RoutingCommand[], actor = 'routing'): Promise<readonly RoutingEvent[]> {
    const stream = streams.routing(tenantId, queueId);
    this.recent.delete(stream);
    // Dropped again once written: a reader that loaded meanwhile may hold the state before it.
    const result = await this.queues.handleAll(stream, commands, { tenantId, metadata: { actor } }).finally(() => this.recent.delete(stream));
    const events = result.events.map((e) => ({ type: e.type, data: e.data }) as RoutingEvent);
    for (const e of events) {
      const reason = 'reason' in e.data ? String(e.data.reason) : 'by' in e.data ? String(e.data.by) : '';
      this.metrics.decisions.inc({ type: e.type, reason });
      if (e.type === 'routing.assigned') {
        const waited = result.previous.waiting.find((w) => w.conversationId === e.data.conversationId);
        if (waited) this.metrics.waited.observe(Math.max(0, (Date.parse(e.data.at) - Date.parse(waited.enqueuedAt)) / 1000));
      }
    }
    this.metrics.depth.set({ queue: queueId }, result.state.waiting.length);
    await this.mirror(tenantId, queueId, events, actor);
    return events;
  }

  /** The queue's own policy, configured on the availability service, or the service's defaults. */
  policyOf(tenantId: string, queueId: string): QueuePolicy {
    return this.model.queueOf(tenantId, queueId)?.routing ?? this.policy;
  }

  /** Expired offers go back; then everything that can be offered now is. */
  tick(tenantId: string, queueId: string, at = new Date().toISOString()): Promise<readonly RoutingEvent[]> {
    const languages = [...(this.model.queueOf(tenantId, queueId)?.languages ?? [])];
    return this.queues.load(streams.routing(tenantId, queueId)).then(({ state }) =>
      this.run(tenantId, queueId, [
        { type: 'Expire', at },
        {
          type: 'Dispatch',
          agents: this.agents(tenantId, state),
          policy: this.policyOf(tenantId, queueId),
          offerIds: Array.from({ length: 50 }, () => randomUUID()),
          languages,
          at,
        },
      ]),
    );
  }

  /** Agents as routing sees them: their work in other queues counted apart from this one's. */
  agents(tenantId: string, state: RoutingState): AgentView[] {
    const here = new Set(Object.keys(state.assigned).map((id) => streams.conversation(tenantId, id)));
    return this.model.agentsOf(tenantId).map(({ agent, owns }) => ({
      agentId: agent.agentId,
      online: agent.presence === 'online',
      skills: agent.skills,
      languages: agent.languages,
      capacity: { live: agent.liveChats.max, messaging: agent.messaging.max },
      loadElsewhere: { live: [...owns.live].filter((s) => !here.has(s)).length, messaging: [...owns.messaging].filter((s) => !here.has(s)).length },
    }));
  }

  /** The queue's required skills, as configured on the availability service. */
  skillsOf(tenantId: string, queueId: string): string[] {
    return [...(this.model.queueOf(tenantId, queueId)?.skills ?? [])];
  }

  conversationState(tenantId: string, conversationId: string) {
    return this.conversations.load(streams.conversation(tenantId, conversationId));
  }

  private async mirror(tenantId: string, queueId: string, events: readonly RoutingEvent[], actor: string): Promise<void> {
    for (const e of events) {
      const commands: ConversationCommand[] = [];
      const at = e.data.at;
      switch (e.type) {
        case 'routing.enqueued':
          commands.push({ type: 'Queue', queueId, priority: e.data.priority, reason: e.data.reason === 'overflow' ? 'transferred' : e.data.reason, at });
          break;
        case 'routing.offered':
          if (!e.data.transferFromAgentId) commands.push({ type: 'Offer', offerId: e.data.offerId, agentId: e.data.agentId, expiresAt: e.data.expiresAt, at });
          break;
        case 'routing.offer-declined':
          commands.push({ type: 'DeclineOffer', offerId: e.data.offerId, reason: e.data.reason === 'declined' ? 'declined' : 'timed-out', at });
          break;
        case 'routing.assigned':
          if (e.data.by === 'transfer') commands.push({ type: 'Unassign', reason: 'manual', at });
          commands.push({ type: 'Assign', agentId: e.data.agentId, ...(e.data.by === 'accept' && e.data.offerId ? { offerId: e.data.offerId } : {}), at });
          break;
        case 'routing.released':
          if (e.data.reason !== 'resolved') commands.push({ type: 'Unassign', reason: e.data.reason === 'agent-offline' ? 'agent-offline' : 'manual', at });
          break;
        default:
          break;
      }
      if (commands.length === 0) continue;
      const conversationId = e.data.conversationId;
      try {
        const stream = streams.conversation(tenantId, conversationId);
        const { state } = await this.conversations.load(stream);
        await this.conversations.handleAll(stream, commands, { tenantId, metadata: { subjectId: state.customerId ?? conversationId, actor } });
      } catch (error) {
        // The queue's log is the routing truth; a conversation refusing the copy is logged, not fatal.
        if (!(error instanceof ParleyError)) throw error;
        this.logger.warn({ type: e.type, code: error.code }, 'conversation did not take a routing decision');
      }
    }
  }
}
