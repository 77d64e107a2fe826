import { closesAt, expectedAnswerSeconds, isOpen, nextOpening, type BusinessHours } from './business-hours';

export type Presence = 'online' | 'away' | 'offline';

export interface AgentAvailability {
  readonly agentId: string;
  readonly presence: Presence;
  /** Live chats at once, and how many are open now. */
  readonly liveChats: { readonly max: number; readonly current: number };
  readonly messaging: { readonly max: number; readonly current: number };
  readonly skills: readonly string[];
  readonly languages: readonly string[];
}

export interface QueueAvailability {
  readonly queueId: string;
  readonly hours: BusinessHours;
  /** Every one of them needed to take the queue's live chats. */
  readonly skills: readonly string[];
  /** At least one of them, if any are listed. */
  readonly languages: readonly string[];
  readonly typicalResponseSeconds: number;
}

export type Offer =
  | { readonly kind: 'live-chat'; readonly queueId: string; readonly agentsFree: number; readonly until: string | null }
  | {
      readonly kind: 'messaging';
      readonly queueId: string;
      readonly expectedAnswerSeconds: number | null;
      readonly opensAt: string | null;
      readonly reason: 'closed' | 'no-agent-free';
    };

export function canTakeLiveChat(agent: AgentAvailability, queue: QueueAvailability): boolean {
  return (
    agent.presence === 'online' &&
    agent.liveChats.current < agent.liveChats.max &&
    queue.skills.every((s) => agent.skills.includes(s)) &&
    (queue.languages.length === 0 || queue.languages.some((l) => agent.languages.includes(l)))
  );
}

/**
 * What a visitor is offered now: live chat when the queue is open and an agent
 * with the skills has a live chat free; otherwise messaging, with when an answer
 * can be expected. A customer can always write.
 */
export function offerFor(queue: QueueAvailability, agents: readonly AgentAvailability[], at: string): Offer {
  if (!isOpen(queue.hours, at)) {
    return {
      kind: 'messaging',
      queueId: queue.queueId,
      expectedAnswerSeconds: expectedAnswerSeconds(queue.hours, at, queue.typicalResponseSeconds),
      opensAt: nextOpening(queue.hours, at),
      reason: 'closed',
    };
  }
  const free = agents.filter((a) => canTakeLiveChat(a, queue)).length;
  if (free > 0) return { kind: 'live-chat', queueId: queue.queueId, agentsFree: free, until: closesAt(queue.hours, at) };
  // Open, but nobody free: someone online answers within the typical time. With everybody
  // away, count on the next opening after this one (opensAt), from now; unknown when it never closes.
  if (agents.some((a) => a.presence === 'online'))
    return { kind: 'messaging', queueId: queue.queueId, expectedAnswerSeconds: queue.typicalResponseSeconds, opensAt: null, reason: 'no-agent-free' };
  const closing = closesAt(queue.hours, at);
  const opensAt = closing === null ? null : nextOpening(queue.hours, closing);
  return {
    kind: 'messaging',
    queueId: queue.queueId,
    expectedAnswerSeconds: closing === null ? null : expectedAnswerSeconds(queue.hours, closing, queue.typicalResponseSeconds, at),
    opensAt,
    reason: 'no-agent-free',
  };
}

/** Whether two offers differ for a widget (the button appears or disappears, the expectation changes). */
export function sameOffer(a: Offer, b: Offer): boolean {
  if (a.kind !== b.kind || a.queueId !== b.queueId) return false;
  if (a.kind === 'messaging' && b.kind === 'messaging') return a.reason === b.reason && a.opensAt === b.opensAt;
  return true;
}
