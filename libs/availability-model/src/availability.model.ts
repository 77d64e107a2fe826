import { EVENT_CONTRACTS, upcast, type AvailabilityEvent } from '@parley/contracts';
import {
  agentDecider,
  invitationFor,
  offerFor,
  queueDecider,
  targetingDecider,
  type AgentAvailability,
  type AgentState,
  type Offer,
  type PageView,
  type QueueState,
  type TargetingRule,
  type TargetingState,
} from '@parley/availability-domain';
import { EventLoopTurns, IdleBackoff, type EventLog, type RecordedEvent } from '@parley/event-log';
import type { LoopProgress, Logger } from '@parley/observability';

interface TenantModel {
  readonly agents: Map<string, AgentState>;
  readonly queues: Map<string, QueueState>;
  targeting: TargetingState;
  /** Last invitation shown, by visitor. */
  readonly shown: Map<string, string>;
  /** Open work by agent, counted from the conversations' assignments. */
  readonly load: Map<string, { live: Set<string>; messaging: Set<string> }>;
  /** Live chat (started on the web) or messaging, by conversation stream. */
  readonly kinds: Map<string, 'live' | 'messaging'>;
  readonly owners: Map<string, string>;
  /** Open offers: the agent asked, by conversation stream. */
  readonly offered: Map<string, string>;
  /** Agents whose last offer timed out, until they accept, decline or change their presence. */
  readonly unresponsive: Set<string>;
}

/**
 * Everything the service answers from, in memory, built by reading the whole
 * log from the first event and then following it: throw it away and it is
 * rebuilt the same. Agents' load comes from the conversations' own assignment
 * events; live chats and messaging threads are counted apart.
 */
/** What the model is built from; the log's other events (identities, customers) are never read. */
export const AVAILABILITY_MODEL_TYPES: readonly string[] = [
  'agent.',
  'queue.',
  'targeting.',
  'invitation.',
  'conversation.started',
  'conversation.offered',
  'conversation.offer-declined',
  'conversation.assigned',
  'conversation.unassigned',
  'conversation.resolved',
];

export class AvailabilityModel {
  private readonly tenants = new Map<string, TenantModel>();
  private position = 0;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly listeners = new Set<(tenantId: string) => void>();

  constructor(
    private readonly log: EventLog,
    private readonly logger: Logger,
    private readonly pollMs = 50,
  ) {}

  private exclusive: Promise<unknown> = Promise.resolve();
  private busFed = false;

  /** The log position the model has read up to. */
  get checkpoint(): number {
    return this.position;
  }

  /** From now on a BusFollower hands the model its events (`applyEvent`); catchUp no longer reads the log. */
  fedByBus(): void {
    this.busFed = true;
  }

  /** One event handed by a BusFollower: once, in its stream's order. */
  applyEvent(event: RecordedEvent): void {
    this.apply(event);
  }

  /**
   * Reads everything written so far; then `follow` keeps up. Writers call it
   * after their append, so a caller reads its own write. One at a time.
   */
  catchUp(): Promise<number> {
    // Fed by the bus, the model already has what this instance wrote (see followAvailabilityOnBus).
    if (this.busFed) return Promise.resolve(0);
    const run = this.exclusive.then(() => this.readNew());
    this.exclusive = run.catch(() => undefined);
    return run;
  }

  private async readNew(): Promise<number> {
    let applied = 0;
    const turns = new EventLoopTurns();
    for (;;) {
      const page = await this.log.readAll({ after: this.position, limit: 1000, types: AVAILABILITY_MODEL_TYPES });
      for (const event of page.events) if (this.apply(event)) applied++;
      // At the head when the checkpoint stops: a page of other types only is empty and moves it.
      const moved = page.checkpoint !== this.position;
      this.position = page.checkpoint;
      if (!moved) return applied;
      await turns.pause();
    }
  }

  follow(progress?: LoopProgress): void {
    // Quiet for a while, it looks every half second at most: presence and capacity change seldom.
    const backoff = new IdleBackoff(this.pollMs, Math.max(this.pollMs, 500));
    this.running = (async () => {
      while (!this.stopped) {
        try {
          const applied = await this.catchUp();
          progress?.beat();
          const wait = backoff.next(applied > 0);
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        } catch (error) {
          this.logger.error({ err: error instanceof Error ? error.message : String(error) }, 'availability model failed to follow the log; retrying');
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  /** Called with the tenant whenever something of it changed. */
  onChange(listener: (tenantId: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  offer(tenantId: string, queueId: string, at: string): Offer {
    const t = this.tenant(tenantId);
    const queue = t.queues.get(queueId) ?? queueDecider.initialState();
    return offerFor(
      { queueId, hours: queue.hours, skills: queue.skills, languages: queue.languages, typicalResponseSeconds: queue.typicalResponseSeconds },
      this.takers(t),
      at,
    );
  }

  /**
   * Agents as a visitor's offer counts them: an open offer holds its live-chat slot, and
   * an agent who let their last offer time out is away until they act again (routing
   * still offers them work; the widget does not promise them).
   */
  private takers(t: TenantModel): AgentAvailability[] {
    const offeredLive = new Map<string, number>();
    for (const [stream, agentId] of t.offered) if (t.kinds.get(stream) === 'live') offeredLive.set(agentId, (offeredLive.get(agentId) ?? 0) + 1);
    return this.agents(t).map((a) => ({
      ...a,
      presence: a.presence === 'online' && t.unresponsive.has(a.agentId) ? 'away' : a.presence,
      liveChats: { max: a.liveChats.max, current: a.liveChats.current + (offeredLive.get(a.agentId) ?? 0) },
    }));
  }

  invitation(tenantId: string, queueId: string, visitorId: string, view: PageView, at: string): TargetingRule | null {
    const t = this.tenant(tenantId);
    const rules = t.targeting.rules.filter((r) => r.queueId === queueId) as TargetingRule[];
    return invitationFor(rules, view, this.offer(tenantId, queueId, at), t.shown.get(visitorId) ?? null, t.targeting.periodSeconds, at);
  }

  presenceOf(tenantId: string, agentId: string): AgentState['presence'] {
    return this.tenant(tenantId).agents.get(agentId)?.presence ?? 'offline';
  }

  /** Every (tenant, agent) online or away now, for the heartbeat sweep. */
  present(): { tenantId: string; agentId: string; presence: AgentState['presence'] }[] {
    const all: { tenantId: string; agentId: string; presence: AgentState['presence'] }[] = [];
    for (const [tenantId, t] of this.tenants)
      for (const [agentId, a] of t.agents) if (a.presence !== 'offline') all.push({ tenantId, agentId, presence: a.presence });
    return all;
  }

  /** Every configured queue of every tenant (for the metrics of open and unstaffed queues). */
  queues(): { tenantId: string; queueId: string; queue: QueueState }[] {
    const all: { tenantId: string; queueId: string; queue: QueueState }[] = [];
    for (const [tenantId, t] of this.tenants) for (const [queueId, queue] of t.queues) all.push({ tenantId, queueId, queue });
    return all;
  }

  /** A queue's configuration (hours, skills, languages), if it has any. */
  queueOf(tenantId: string, queueId: string): QueueState | undefined {
    return this.tenant(tenantId).queues.get(queueId);
  }

  /** Every agent of a tenant with presence, capacity and the conversations they own now. */
  agentsOf(
    tenantId: string,
  ): { readonly agent: AgentAvailability; readonly owns: { readonly live: ReadonlySet<string>; readonly messaging: ReadonlySet<string> } }[] {
    const t = this.tenant(tenantId);
    return this.agents(t).map((agent) => ({ agent, owns: t.load.get(agent.agentId) ?? { live: new Set<string>(), messaging: new Set<string>() } }));
  }

  private agents(t: TenantModel): AgentAvailability[] {
    return [...t.agents.entries()].map(([agentId, a]) => {
      const load = t.load.get(agentId);
      return {
        agentId,
        presence: a.presence,
        liveChats: { max: a.liveChats, current: load?.live.size ?? 0 },
        messaging: { max: a.messaging, current: load?.messaging.size ?? 0 },
        skills: a.skills,
        languages: a.languages,
      };
    });
  }

  private tenant(tenantId: string): TenantModel {
    let t = this.tenants.get(tenantId);
    if (!t) {
      t = {
        agents: new Map(),
        queues: new Map(),
        targeting: targetingDecider.initialState(),
        shown: new Map(),
        load: new Map(),
        kinds: new Map(),
        owners: new Map(),
        offered: new Map(),
        unresponsive: new Set(),
      };
      this.tenants.set(tenantId, t);
    }
    return t;
  }

  private apply(event: RecordedEvent): boolean {
    const t = this.tenant(event.tenantId);
    const d = event.data as Record<string, unknown>;
    const changed = (() => {
      switch (event.type) {
        case 'agent.presence-changed':
        case 'agent.capacity-set': {
          const e = this.domain(event) as Parameters<typeof agentDecider.evolve>[1];
          t.agents.set(e.data.agentId, agentDecider.evolve(t.agents.get(e.data.agentId) ?? agentDecider.initialState(), e));
          if (e.type === 'agent.presence-changed') t.unresponsive.delete(e.data.agentId);
          return true;
        }
        case 'queue.hours-set':
        case 'queue.exception-set':
        case 'queue.exception-removed':
        case 'queue.requirements-set':
        case 'queue.routing-policy-set': {
          const e = this.domain(event) as Parameters<typeof queueDecider.evolve>[1];
          t.queues.set(e.data.queueId, queueDecider.evolve(t.queues.get(e.data.queueId) ?? queueDecider.initialState(), e));
          return true;
        }
        case 'targeting.rules-set':
          t.targeting = targetingDecider.evolve(t.targeting, this.domain(event) as Parameters<typeof targetingDecider.evolve>[1]);
          return true;
        case 'invitation.shown':
          t.shown.set(String(d['visitorId']), String(d['at']));
          return false;
        case 'conversation.started':
          t.kinds.set(event.streamId, d['channel'] === 'web' ? 'live' : 'messaging');
          return false;
        case 'conversation.offered':
          t.offered.set(event.streamId, String(d['agentId']));
          return true;
        case 'conversation.offer-declined':
          t.offered.delete(event.streamId);
          if (d['reason'] === 'timed-out') t.unresponsive.add(String(d['agentId']));
          else t.unresponsive.delete(String(d['agentId']));
          return true;
        case 'conversation.assigned':
          t.offered.delete(event.streamId);
          t.unresponsive.delete(String(d['agentId']));
          return this.assign(t, event.streamId, String(d['agentId']));
        case 'conversation.unassigned':
        case 'conversation.resolved':
          return this.unassign(t, event.streamId);
        default:
          return false;
      }
    })();
    if (changed) for (const listener of this.listeners) listener(event.tenantId);
    return true;
  }

  private assign(t: TenantModel, stream: string, agentId: string): boolean {
    this.unassign(t, stream);
    const load = t.load.get(agentId) ?? { live: new Set<string>(), messaging: new Set<string>() };
    (t.kinds.get(stream) === 'live' ? load.live : load.messaging).add(stream);
    t.load.set(agentId, load);
    t.owners.set(stream, agentId);
    return true;
  }

  private unassign(t: TenantModel, stream: string): boolean {
    const owner = t.owners.get(stream);
    if (!owner) return false;
    const load = t.load.get(owner);
    load?.live.delete(stream);
    load?.messaging.delete(stream);
    t.owners.delete(stream);
    return true;
  }

  private domain(event: RecordedEvent): AvailabilityEvent {
    const contract = EVENT_CONTRACTS.get(event.type)!;
    return { type: event.type, data: upcast(contract, event.schemaVersion, event.data) } as AvailabilityEvent;
  }
}
