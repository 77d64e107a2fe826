import type { RecordedEvent } from '@parley/event-log';
import { BusTransport, type MessageBus } from '@parley/message-bus';
import type { LoopProgress, Logger } from '@parley/observability';
import type { RoutingRulesBook } from '../rules/routing-rules.book';
import type { RoutingEngine } from './routing.engine';

export const WORK_TOPIC = 'parley.routing.work';
export const ROUTING_GROUP = 'parley-routing';
const PLACED_KEPT = 100_000;

export type Work =
  | {
      readonly op: 'enqueue';
      readonly tenantId: string;
      readonly queueId: string;
      readonly conversationId: string;
      readonly kind: 'live' | 'messaging';
      readonly priority: number;
      readonly reason: 'new' | 'reopened' | 'transferred' | 'requeued' | 'overflow';
      readonly preferredAgentId?: string | undefined;
      /** Skills a routing rule adds to the queue's own. */
      readonly skills?: readonly string[] | undefined;
    }
  | { readonly op: 'tick'; readonly tenantId: string; readonly queueId: string }
  | { readonly op: 'resolve'; readonly tenantId: string; readonly queueId: string; readonly conversationId: string }
  | { readonly op: 'agent-offline'; readonly tenantId: string; readonly queueId: string; readonly agentId: string };

/**
 * Routing work travels on Kafka keyed by `<tenant>:<queue>`: all of a queue's
 * work lands on one partition, so the one instance owning it is the queue's
 * single writer; instances scale out by partitions, and a rebalance hands a
 * queue over with its log intact. (The log's expected versions would still stop
 * two writers from both winning; the partitions keep them from trying.)
 */
export class RoutingWork {
  /** The bus transport that serves RoutingWorkController: the work, the intake and the agents, each in its group. */
  readonly transport: BusTransport;

  /** Whether every consumer of the routing service takes messages now (readiness). */
  running(): boolean {
    return this.transport.running();
  }
  private readonly known = new Map<string, { tenantId: string; queueId: string }>();
  /** The queue this consumer last placed each conversation in; its partition's conversations only, the latest few. */
  private readonly placed = new Map<string, string>();

  private place(stream: string, queueId: string): void {
    this.placed.delete(stream);
    this.placed.set(stream, queueId);
    if (this.placed.size > PLACED_KEPT) this.placed.delete(this.placed.keys().next().value!);
  }
  private ticker: NodeJS.Timeout | null = null;

  constructor(
    private readonly bus: MessageBus,
    private readonly engine: RoutingEngine,
    private readonly rules: RoutingRulesBook,
    private readonly tickMs: number,
    private readonly logger: Logger,
    /** Told on every tick while every consumer runs (liveness). */
    private readonly progress?: LoopProgress,
  ) {
    this.transport = new BusTransport({
      bus,
      groupId: ROUTING_GROUP,
      groupOf: { 'parley.conversation.events': `${ROUTING_GROUP}-intake`, 'parley.agent.events': `${ROUTING_GROUP}-agents` },
      decode: (message) => message,
    });
  }

  /** The topics made if missing, and the ticker started; the consumers start with the transport. */
  async start(): Promise<void> {
    await this.bus.ensureTopics([
      { name: WORK_TOPIC, partitions: 12 },
      { name: `${WORK_TOPIC}.dead-letter`, partitions: 1 },
      { name: 'parley.conversation.events', partitions: 12 },
      { name: 'parley.agent.events', partitions: 12 },
    ]);
    this.ticker = setInterval(() => void this.tickAll(), this.tickMs);
  }

  async stop(): Promise<void> {
    if (this.ticker) clearInterval(this.ticker);
    await this.transport.close();
  }

  publish(work: Work): Promise<void> {
    this.known.set(`${work.tenantId}:${work.queueId}`, { tenantId: work.tenantId, queueId: work.queueId });
    return this.bus.publish(WORK_TOPIC, [{ key: `${work.tenantId}:${work.queueId}`, value: JSON.stringify(work) }]);
  }

  /** One piece of a queue's work (parley.routing.work): only the owner of the queue's partition runs it. */
  async work(work: Work): Promise<void> {
    this.known.set(`${work.tenantId}:${work.queueId}`, { tenantId: work.tenantId, queueId: work.queueId });
    const at = new Date().toISOString();
    const e = this.engine;
    if (work.op === 'enqueue') {
      const events = await e.run(work.tenantId, work.queueId, [
        {
          type: 'Enqueue',
          conversationId: work.conversationId,
          kind: work.kind,
          priority: work.priority,
          skills: [...new Set([...e.skillsOf(work.tenantId, work.queueId), ...(work.skills ?? [])])],
          ...(work.preferredAgentId ? { preferredAgentId: work.preferredAgentId } : {}),
          reason: work.reason,
          at,
        },
      ]);
      if (events.length === 0) return;
    } else if (work.op === 'resolve') {
      await e.run(work.tenantId, work.queueId, [{ type: 'Resolve', conversationId: work.conversationId, at }]);
    } else if (work.op === 'agent-offline') {
      await e.run(work.tenantId, work.queueId, [{ type: 'AgentOffline', agentId: work.agentId, policy: e.policyOf(work.tenantId, work.queueId), at }]);
    }
    const decided = await e.tick(work.tenantId, work.queueId, at);
    for (const d of decided)
      if (d.type === 'routing.left' && d.data.toQueueId)
        await this.publish({
          op: 'enqueue',
          tenantId: work.tenantId,
          queueId: d.data.toQueueId,
          conversationId: d.data.conversationId,
          kind: 'messaging',
          priority: 5,
          reason: d.data.reason === 'overflow' ? 'overflow' : 'transferred',
        });
  }

  /** What comes in: a customer writes and nobody owns the conversation; it is resolved. */
  async intake(event: RecordedEvent): Promise<void> {
    const conversationId = event.streamId.slice(`conversation-${event.tenantId}-`.length);
    const resolved = event.type === 'conversation.resolved';
    if (!resolved && event.type !== 'conversation.message-received' && event.type !== 'conversation.reopened' && event.type !== 'conversation.session-started')
      return;
    const { state } = await this.engine.conversationState(event.tenantId, conversationId);
    // Resolved: out of the queue it waits or was assigned in (never queued: nothing to release).
    if (resolved) {
      const queueId = state.queueId ?? state.lastQueueId;
      if (queueId) await this.publish({ op: 'resolve', tenantId: event.tenantId, queueId, conversationId });
      return;
    }
    if (state.agentId !== null || state.status === 'resolved' || state.status === 'new') return;
    // Already waiting in a queue: the customer's next message changes nothing there (a live
    // session starting may: it makes the conversation a live one).
    if (state.queueId !== null && event.type === 'conversation.message-received') return;
    const live = event.type === 'conversation.session-started';
    const channel = live ? 'web' : ((event.data as { channel?: string }).channel ?? state.lastCustomerChannel);
    // A live session starting in a thread that waits already: it stays in its queue (the one
    // this consumer placed it in, as its queued event may not be written yet). Otherwise the rules pick.
    const waitsIn = live ? (this.placed.get(event.streamId) ?? state.queueId) : null;
    const choice = waitsIn ? null : await this.rules.choose(event.tenantId, state.customerId, channel);
    const queueId = choice?.queueId ?? waitsIn!;
    this.place(event.streamId, queueId);
    const lastAgent = state.lastAgentId ?? undefined;
    await this.publish({
      op: 'enqueue',
      tenantId: event.tenantId,
      queueId,
      conversationId,
      kind: live || channel === 'web' ? 'live' : 'messaging',
      priority: state.priority,
      reason: lastAgent ? 'reopened' : 'new',
      ...(lastAgent ? { preferredAgentId: lastAgent } : {}),
      ...(choice && choice.skills.length > 0 ? { skills: choice.skills } : {}),
    });
  }

  /** Agents coming online (queues looked at again) or going offline (their live chats handed back). */
  async agents(event: RecordedEvent): Promise<void> {
    if (event.type !== 'agent.presence-changed') return;
    const d = event.data as { agentId: string; presence: string };
    if (d.presence === 'online') {
      for (const q of this.known.values()) if (q.tenantId === event.tenantId) await this.publish({ op: 'tick', ...q });
      return;
    }
    if (d.presence !== 'offline') return;
    for (const q of this.known.values()) if (q.tenantId === event.tenantId) await this.publish({ op: 'agent-offline', ...q, agentId: d.agentId });
  }

  private async tickAll(): Promise<void> {
    if (this.running()) this.progress?.beat();
    for (const q of this.known.values())
      await this.publish({ op: 'tick', ...q }).catch((error: unknown) =>
        this.logger.warn({ err: error instanceof Error ? error.message : String(error) }, 'could not publish a routing tick'),
      );
  }
}
