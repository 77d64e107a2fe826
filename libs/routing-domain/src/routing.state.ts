import type { RoutingEvent } from '@parley/contracts';

export type WorkKind = 'live' | 'messaging';

export interface Waiting {
  readonly conversationId: string;
  readonly kind: WorkKind;
  readonly priority: number;
  readonly skills: readonly string[];
  readonly preferredAgentId: string | null;
  readonly enqueuedAt: string;
  /** Agents who declined or let an offer time out: not asked again in this round. */
  readonly excluded: readonly string[];
  /** Rounds of offers: a new one starts when every agent who could take it was excluded (routing.round-started). */
  readonly round: number;
  /** When the last agent was excluded: the next round waits its back-off from then. */
  readonly lastExcludedAt: string | null;
  readonly escalationStep: number;
  readonly skillsWidened: boolean;
}

export interface Offer {
  readonly offerId: string;
  readonly conversationId: string;
  readonly agentId: string;
  readonly expiresAt: string;
  /** A warm transfer: this agent keeps the conversation until the offer is accepted. */
  readonly transferFromAgentId: string | null;
}

export interface RoutingState {
  readonly waiting: readonly Waiting[];
  readonly offers: readonly Offer[];
  /** Conversations of this queue with their agent. */
  readonly assigned: Readonly<Record<string, { readonly agentId: string; readonly kind: WorkKind }>>;
  /** For the longest-idle strategy. */
  readonly lastAssignedAt: Readonly<Record<string, string>>;
  /** For round robin. */
  readonly lastAgentId: string | null;
  /** Kinds of conversations that passed through, for transfers and requeues. */
  readonly kinds: Readonly<Record<string, WorkKind>>;
}

export function initialState(): RoutingState {
  return { waiting: [], offers: [], assigned: {}, lastAssignedAt: {}, lastAgentId: null, kinds: {} };
}

const without = (waiting: readonly Waiting[], conversationId: string) => waiting.filter((w) => w.conversationId !== conversationId);

/** One event, copying only what it changes. */
export function evolve(state: RoutingState, event: RoutingEvent): RoutingState {
  const d = event.data;
  switch (event.type) {
    case 'routing.enqueued':
      return {
        ...state,
        waiting: [
          ...without(state.waiting, event.data.conversationId),
          {
            conversationId: event.data.conversationId,
            kind: event.data.kind,
            priority: event.data.priority,
            skills: event.data.skills,
            preferredAgentId: event.data.preferredAgentId ?? null,
            enqueuedAt: event.data.at,
            excluded: [],
            round: 1,
            lastExcludedAt: null,
            escalationStep: 0,
            skillsWidened: false,
          },
        ],
        kinds: { ...state.kinds, [event.data.conversationId]: event.data.kind },
      };
    case 'routing.offered':
      return {
        ...state,
        offers: [
          ...state.offers,
          {
            offerId: event.data.offerId,
            conversationId: event.data.conversationId,
            agentId: event.data.agentId,
            expiresAt: event.data.expiresAt,
            transferFromAgentId: event.data.transferFromAgentId ?? null,
          },
        ],
      };
    case 'routing.offer-declined':
      return {
        ...state,
        offers: state.offers.filter((o) => o.offerId !== event.data.offerId),
        waiting: state.waiting.map((w) =>
          w.conversationId === event.data.conversationId ? { ...w, excluded: [...w.excluded, event.data.agentId], lastExcludedAt: event.data.at } : w,
        ),
      };
    case 'routing.round-started':
      return {
        ...state,
        waiting: state.waiting.map((w) =>
          w.conversationId === event.data.conversationId ? { ...w, excluded: [], round: event.data.round, lastExcludedAt: null } : w,
        ),
      };
    case 'routing.assigned': {
      const kind = state.kinds[event.data.conversationId] ?? 'messaging';
      return {
        ...state,
        offers: state.offers.filter((o) => o.conversationId !== event.data.conversationId),
        waiting: without(state.waiting, event.data.conversationId),
        assigned: { ...state.assigned, [event.data.conversationId]: { agentId: event.data.agentId, kind } },
        lastAssignedAt: { ...state.lastAssignedAt, [event.data.agentId]: event.data.at },
        lastAgentId: event.data.agentId,
      };
    }
    case 'routing.released': {
      const { [event.data.conversationId]: _gone, ...assigned } = state.assigned;
      return { ...state, assigned: state.assigned[event.data.conversationId]?.agentId === event.data.agentId ? assigned : state.assigned };
    }
    case 'routing.escalated':
      return {
        ...state,
        waiting: state.waiting.map((w) =>
          w.conversationId === event.data.conversationId
            ? { ...w, escalationStep: event.data.step, skillsWidened: w.skillsWidened || event.data.action === 'widen-skills' }
            : w,
        ),
      };
    case 'routing.left':
      return { ...state, waiting: without(state.waiting, d.conversationId), offers: state.offers.filter((o) => o.conversationId !== d.conversationId) };
  }
}

/**
 * Many events in one pass: the state is copied once and the copy changed in
 * place, so replaying or applying a batch is linear, not quadratic, in the queue's size.
 */
export function evolveAll(state: RoutingState, events: readonly RoutingEvent[]): RoutingState {
  // A few events: copying only what each changes is cheaper than copying everything once.
  if (events.length <= 8) return events.reduce(evolve, state);
  const waiting = new Map(state.waiting.map((w) => [w.conversationId, w]));
  const offers = new Map(state.offers.map((o) => [o.offerId, o]));
  const assigned = { ...state.assigned };
  const lastAssignedAt = { ...state.lastAssignedAt };
  const kinds = { ...state.kinds };
  let lastAgentId = state.lastAgentId;
  const dropOffersOf = (conversationId: string) => {
    for (const [id, o] of offers) if (o.conversationId === conversationId) offers.delete(id);
  };
  for (const event of events) {
    switch (event.type) {
      case 'routing.enqueued': {
        const d = event.data;
        waiting.delete(d.conversationId);
        waiting.set(d.conversationId, {
          conversationId: d.conversationId,
          kind: d.kind,
          priority: d.priority,
          skills: d.skills,
          preferredAgentId: d.preferredAgentId ?? null,
          enqueuedAt: d.at,
          excluded: [],
          round: 1,
          lastExcludedAt: null,
          escalationStep: 0,
          skillsWidened: false,
        });
        kinds[d.conversationId] = d.kind;
        break;
      }
      case 'routing.offered': {
        const d = event.data;
        offers.set(d.offerId, {
          offerId: d.offerId,
          conversationId: d.conversationId,
          agentId: d.agentId,
          expiresAt: d.expiresAt,
          transferFromAgentId: d.transferFromAgentId ?? null,
        });
        break;
      }
      case 'routing.offer-declined': {
        const d = event.data;
        offers.delete(d.offerId);
        const w = waiting.get(d.conversationId);
        if (w) waiting.set(d.conversationId, { ...w, excluded: [...w.excluded, d.agentId], lastExcludedAt: d.at });
        break;
      }
      case 'routing.round-started': {
        const w = waiting.get(event.data.conversationId);
        if (w) waiting.set(event.data.conversationId, { ...w, excluded: [], round: event.data.round, lastExcludedAt: null });
        break;
      }
      case 'routing.assigned': {
        const d = event.data;
        dropOffersOf(d.conversationId);
        waiting.delete(d.conversationId);
        assigned[d.conversationId] = { agentId: d.agentId, kind: kinds[d.conversationId] ?? 'messaging' };
        lastAssignedAt[d.agentId] = d.at;
        lastAgentId = d.agentId;
        break;
      }
      case 'routing.released':
        if (assigned[event.data.conversationId]?.agentId === event.data.agentId) delete assigned[event.data.conversationId];
        break;
      case 'routing.escalated': {
        const d = event.data;
        const w = waiting.get(d.conversationId);
        if (w) waiting.set(d.conversationId, { ...w, escalationStep: d.step, skillsWidened: w.skillsWidened || d.action === 'widen-skills' });
        break;
      }
      case 'routing.left':
        waiting.delete(event.data.conversationId);
        dropOffersOf(event.data.conversationId);
        break;
    }
  }
  return { waiting: [...waiting.values()], offers: [...offers.values()], assigned, lastAssignedAt, lastAgentId, kinds };
}
