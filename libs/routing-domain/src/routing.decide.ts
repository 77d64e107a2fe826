import type { RoutingEvent } from '@parley/contracts';
import type { Decider } from '@parley/decider';
import { AgentAtCapacityError, NotInQueueError, OfferNotFoundError } from './routing.errors';
import { evolve, evolveAll, initialState, type RoutingState, type Waiting, type WorkKind } from './routing.state';

export interface AgentView {
  readonly agentId: string;
  readonly online: boolean;
  readonly skills: readonly string[];
  readonly languages?: readonly string[];
  readonly capacity: Readonly<Record<WorkKind, number>>;
  /** Work the agent has in other queues. */
  readonly loadElsewhere: Readonly<Record<WorkKind, number>>;
}

export type EscalationStep =
  | { readonly afterSeconds: number; readonly action: 'widen-skills' }
  | { readonly afterSeconds: number; readonly action: 'overflow'; readonly toQueueId: string };

export interface QueuePolicy {
  readonly strategy: 'longest-idle' | 'least-busy' | 'round-robin';
  readonly offerTimeoutSeconds: number;
  /** A returning customer waits this long for the agent who last helped them. */
  readonly stickySeconds: number;
  readonly escalation: readonly EscalationStep[];
  /** An agent going offline hands their live chats back to the queue (messaging threads keep their owner). */
  readonly requeueLiveOnOffline: boolean;
}

export type RoutingCommand =
  | {
      type: 'Enqueue';
      conversationId: string;
      kind: WorkKind;
      priority: number;
      skills: string[];
      preferredAgentId?: string;
      reason: 'new' | 'reopened' | 'transferred' | 'requeued' | 'overflow';
      at: string;
    }
  /** Offers what can be offered now; offer ids come with the command (the decider has no randomness). `languages`: at least one of them, if any. */
  | { type: 'Dispatch'; agents: readonly AgentView[]; policy: QueuePolicy; offerIds: readonly string[]; languages?: readonly string[]; at: string }
  | { type: 'Accept'; offerId: string; agentId: string; at: string }
  | { type: 'Decline'; offerId: string; agentId: string; at: string }
  | { type: 'Expire'; at: string }
  | { type: 'Pick'; conversationId: string; agent: AgentView; at: string }
  | {
      type: 'Transfer';
      conversationId: string;
      to: { kind: 'agent'; agentId: string } | { kind: 'queue'; queueId: string };
      mode: 'warm' | 'cold';
      offerId: string;
      policy: QueuePolicy;
      at: string;
    }
  | { type: 'AgentOffline'; agentId: string; policy: QueuePolicy; at: string }
  | { type: 'Release'; conversationId: string; agentId: string; reason: 'transferred' | 'resolved'; at: string }
  | { type: 'Resolve'; conversationId: string; at: string };

type Emit = RoutingEvent[];
const seconds = (from: string, to: string) => (Date.parse(to) - Date.parse(from)) / 1000;
const plus = (at: string, s: number) => new Date(Date.parse(at) + s * 1000).toISOString();

/** The agent's work of a kind: elsewhere, owned here, and offered here (an offer holds its slot). */
function load(state: RoutingState, agent: AgentView, kind: WorkKind): number {
  const owned = Object.values(state.assigned).filter((a) => a.agentId === agent.agentId && a.kind === kind).length;
  const offered = state.offers.filter(
    (o) => o.agentId === agent.agentId && (state.kinds[o.conversationId] ?? 'messaging') === kind && o.transferFromAgentId === null,
  ).length;
  return agent.loadElsewhere[kind] + owned + offered;
}

function hasRoom(state: RoutingState, agent: AgentView, kind: WorkKind): boolean {
  return agent.online && load(state, agent, kind) < agent.capacity[kind];
}

/** Every agent's load of both kinds, counted once per dispatch, then kept up to date as offers are made. */
function loads(state: RoutingState, agents: readonly AgentView[]): Map<string, Record<WorkKind, number>> {
  const map = new Map(agents.map((a) => [a.agentId, { live: a.loadElsewhere.live, messaging: a.loadElsewhere.messaging }]));
  for (const a of Object.values(state.assigned)) {
    const l = map.get(a.agentId);
    if (l) l[a.kind]++;
  }
  for (const o of state.offers) {
    const l = map.get(o.agentId);
    if (l && o.transferFromAgentId === null) l[state.kinds[o.conversationId] ?? 'messaging']++;
  }
  return map;
}

/** How long a conversation that every agent declined or missed waits before they are all asked again: 30 s, doubling each round, at most 10 min. */
export function roundBackoffSeconds(round: number): number {
  return Math.min(30 * 2 ** (round - 1), 600);
}

/** Higher priority first; within a priority, first come first served. */
export function offerOrder(waiting: readonly Waiting[]): Waiting[] {
  return [...waiting].sort((a, b) => b.priority - a.priority || a.enqueuedAt.localeCompare(b.enqueuedAt) || a.conversationId.localeCompare(b.conversationId));
}

function dispatch(state0: RoutingState, command: Extract<RoutingCommand, { type: 'Dispatch' }>): Emit {
  const { policy, at } = command;
  const events: Emit = [];
  let state = state0;
  for (const w of state0.waiting) {
    const step = policy.escalation[w.escalationStep];
    if (!step || seconds(w.enqueuedAt, at) < step.afterSeconds) continue;
    const escalated: Emit =
      step.action === 'overflow'
        ? [
            {
              type: 'routing.escalated',
              data: { conversationId: w.conversationId, step: w.escalationStep + 1, action: 'overflow', toQueueId: step.toQueueId, at },
            },
            { type: 'routing.left', data: { conversationId: w.conversationId, reason: 'overflow', toQueueId: step.toQueueId, at } },
          ]
        : [{ type: 'routing.escalated', data: { conversationId: w.conversationId, step: w.escalationStep + 1, action: 'widen-skills', at } }];
    for (const e of escalated) state = evolve(state, e);
    events.push(...escalated);
  }
  // Counted once, then updated as offers are made: a dispatch is linear in waiting x agents.
  const load = loads(state, command.agents);
  const offered = new Set(state.offers.map((o) => o.conversationId));
  const idle = new Map(command.agents.map((a) => [a.agentId, state.lastAssignedAt[a.agentId] ?? '']));
  const byId = [...command.agents].sort((a, b) => a.agentId.localeCompare(b.agentId));
  const ids = [...command.offerIds];
  let lastAgentId = state.lastAgentId;
  for (const w of offerOrder(state.waiting)) {
    if (ids.length === 0) break;
    if (offered.has(w.conversationId)) continue;
    const sticky = w.preferredAgentId !== null && seconds(w.enqueuedAt, at) < policy.stickySeconds ? w.preferredAgentId : null;
    const fitsIgnoring = (a: AgentView, excluded: ReadonlySet<string>) =>
      a.online &&
      (sticky === null || a.agentId === sticky) &&
      load.get(a.agentId)![w.kind] < a.capacity[w.kind] &&
      !excluded.has(a.agentId) &&
      (w.skillsWidened ||
        (w.skills.every((s) => a.skills.includes(s)) && (!command.languages?.length || command.languages.some((l) => a.languages?.includes(l)))));
    const excludedNow = new Set(w.excluded);
    const fits = (a: AgentView) => fitsIgnoring(a, excludedNow);
    const choose = (eligible: (a: AgentView) => boolean): AgentView | null => {
      if (policy.strategy === 'round-robin')
        return byId.find((a) => (lastAgentId === null || a.agentId > lastAgentId) && eligible(a)) ?? byId.find(eligible) ?? null;
      const key = (a: AgentView): [number, string, string] => [
        policy.strategy === 'least-busy' ? load.get(a.agentId)![w.kind] / a.capacity[w.kind] : 0,
        idle.get(a.agentId)!,
        a.agentId,
      ];
      let chosen: AgentView | null = null;
      let bestKey: [number, string, string] | null = null;
      for (const a of command.agents) {
        if (!eligible(a)) continue;
        const k = key(a);
        if (!bestKey || k[0] < bestKey[0] || (k[0] === bestKey[0] && (k[1] < bestKey[1] || (k[1] === bestKey[1] && k[2] < bestKey[2])))) {
          chosen = a;
          bestKey = k;
        }
      }
      return chosen;
    };
    let best = choose(fits);
    if (!best && w.excluded.length > 0 && w.lastExcludedAt !== null && seconds(w.lastExcludedAt, at) >= roundBackoffSeconds(w.round)) {
      // Everyone who could take it declined or missed it: after the back-off, a new round asks them all again.
      const again = (a: AgentView) => fitsIgnoring(a, new Set());
      if (command.agents.some(again)) {
        const round: RoutingEvent = { type: 'routing.round-started', data: { conversationId: w.conversationId, round: w.round + 1, at } };
        state = evolve(state, round);
        events.push(round);
        best = choose(again);
      }
    }
    if (!best) continue;
    const offerId = ids.shift()!;
    lastAgentId = best.agentId;
    // An offer keeps the agent busy: the next offer of this round goes to the next idle one.
    idle.set(best.agentId, at);
    load.get(best.agentId)![w.kind]++;
    offered.add(w.conversationId);
    events.push({
      type: 'routing.offered',
      data: { conversationId: w.conversationId, offerId, agentId: best.agentId, expiresAt: plus(at, policy.offerTimeoutSeconds), at },
    });
  }
  return events;
}

export function decide(command: RoutingCommand, state: RoutingState): Emit {
  switch (command.type) {
    case 'Enqueue':
      if (state.waiting.some((w) => w.conversationId === command.conversationId) || state.assigned[command.conversationId]) return [];
      return [
        {
          type: 'routing.enqueued',
          data: {
            conversationId: command.conversationId,
            kind: command.kind,
            priority: command.priority,
            skills: command.skills,
            ...(command.preferredAgentId ? { preferredAgentId: command.preferredAgentId } : {}),
            reason: command.reason,
            at: command.at,
          },
        },
      ];
    case 'Dispatch':
      return dispatch(state, command);
    case 'Accept': {
      const offer = state.offers.find((o) => o.offerId === command.offerId && o.agentId === command.agentId);
      if (!offer || Date.parse(command.at) > Date.parse(offer.expiresAt)) throw new OfferNotFoundError(command.offerId);
      if (offer.transferFromAgentId) {
        return [
          {
            type: 'routing.released',
            data: { conversationId: offer.conversationId, agentId: offer.transferFromAgentId, reason: 'transferred', at: command.at },
          },
          {
            type: 'routing.assigned',
            data: { conversationId: offer.conversationId, agentId: command.agentId, offerId: offer.offerId, by: 'transfer', at: command.at },
          },
        ];
      }
      return [
        {
          type: 'routing.assigned',
          data: { conversationId: offer.conversationId, agentId: command.agentId, offerId: offer.offerId, by: 'accept', at: command.at },
        },
      ];
    }
    case 'Decline': {
      const offer = state.offers.find((o) => o.offerId === command.offerId && o.agentId === command.agentId);
      if (!offer) return [];
      return [
        {
          type: 'routing.offer-declined',
          data: { conversationId: offer.conversationId, offerId: offer.offerId, agentId: offer.agentId, reason: 'declined', at: command.at },
        },
      ];
    }
    case 'Expire':
      return state.offers
        .filter((o) => Date.parse(o.expiresAt) <= Date.parse(command.at))
        .map((o) => ({
          type: 'routing.offer-declined' as const,
          data: { conversationId: o.conversationId, offerId: o.offerId, agentId: o.agentId, reason: 'timed-out' as const, at: command.at },
        }));
    case 'Pick': {
      const waiting = state.waiting.find((w) => w.conversationId === command.conversationId);
      if (!waiting) throw new NotInQueueError(command.conversationId);
      if (!hasRoom(state, command.agent, waiting.kind)) throw new AgentAtCapacityError(command.agent.agentId);
      return [{ type: 'routing.assigned', data: { conversationId: command.conversationId, agentId: command.agent.agentId, by: 'pick', at: command.at } }];
    }
    case 'Transfer': {
      const owner = state.assigned[command.conversationId];
      if (!owner) throw new NotInQueueError(command.conversationId);
      const kind = owner.kind;
      if (command.to.kind === 'queue') {
        // The target queue takes it from here; warm: the agent keeps it until someone there accepts.
        return [
          ...(command.mode === 'cold'
            ? [
                {
                  type: 'routing.released' as const,
                  data: { conversationId: command.conversationId, agentId: owner.agentId, reason: 'transferred' as const, at: command.at },
                },
              ]
            : []),
          { type: 'routing.left', data: { conversationId: command.conversationId, reason: 'transferred', toQueueId: command.to.queueId, at: command.at } },
        ];
      }
      if (command.mode === 'warm') {
        return [
          {
            type: 'routing.offered',
            data: {
              conversationId: command.conversationId,
              offerId: command.offerId,
              agentId: command.to.agentId,
              expiresAt: plus(command.at, command.policy.offerTimeoutSeconds),
              transferFromAgentId: owner.agentId,
              at: command.at,
            },
          },
        ];
      }
      // Cold: back in the queue, waiting first for the agent it was sent to.
      return [
        { type: 'routing.released', data: { conversationId: command.conversationId, agentId: owner.agentId, reason: 'transferred', at: command.at } },
        {
          type: 'routing.enqueued',
          data: {
            conversationId: command.conversationId,
            kind,
            priority: 10,
            skills: [],
            preferredAgentId: command.to.agentId,
            reason: 'transferred',
            at: command.at,
          },
        },
      ];
    }
    case 'AgentOffline': {
      const events: Emit = state.offers
        .filter((o) => o.agentId === command.agentId)
        .map((o) => ({
          type: 'routing.offer-declined' as const,
          data: { conversationId: o.conversationId, offerId: o.offerId, agentId: o.agentId, reason: 'agent-offline' as const, at: command.at },
        }));
      if (!command.policy.requeueLiveOnOffline) return events;
      for (const [conversationId, a] of Object.entries(state.assigned)) {
        if (a.agentId !== command.agentId || a.kind !== 'live') continue;
        events.push({ type: 'routing.released', data: { conversationId, agentId: a.agentId, reason: 'agent-offline', at: command.at } });
        // Mid-conversation: it goes to the front.
        events.push({ type: 'routing.enqueued', data: { conversationId, kind: 'live', priority: 10, skills: [], reason: 'requeued', at: command.at } });
      }
      return events;
    }
    case 'Release':
      return state.assigned[command.conversationId]?.agentId === command.agentId
        ? [{ type: 'routing.released', data: { conversationId: command.conversationId, agentId: command.agentId, reason: command.reason, at: command.at } }]
        : [];
    case 'Resolve': {
      const owner = state.assigned[command.conversationId];
      if (owner)
        return [{ type: 'routing.released', data: { conversationId: command.conversationId, agentId: owner.agentId, reason: 'resolved', at: command.at } }];
      return state.waiting.some((w) => w.conversationId === command.conversationId)
        ? [{ type: 'routing.left', data: { conversationId: command.conversationId, reason: 'resolved', at: command.at } }]
        : [];
    }
  }
}

export const routingDecider: Decider<RoutingCommand, RoutingEvent, RoutingState> = { decide, evolve, evolveAll, initialState };
