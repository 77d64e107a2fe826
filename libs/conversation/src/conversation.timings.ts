import type { ConversationEvent } from '@parley/contracts';

/** Seconds between two instants by some rule: wall-clock by default, or business hours only. */
export type Elapsed = (from: string, to: string) => number;

export const wallClock: Elapsed = (from, to) => (Date.parse(to) - Date.parse(from)) / 1000;

export interface ConversationTimings {
  /** From the customer's first message to the first answer by a person (or a bot, if counted). */
  readonly firstResponseSeconds: number | null;
  /** Each later wait: from the customer writing after an answer to the next answer. */
  readonly nextResponseSeconds: readonly number[];
  /** From the start (or reopening) to each resolution. */
  readonly resolutionSeconds: readonly number[];
  /** From entering a queue to being assigned. */
  readonly queueWaitSeconds: readonly number[];
}

export interface TimingRules {
  readonly elapsed?: Elapsed;
  readonly botsCount?: boolean;
}

/** The timings so far and what is still running: plain data, so a read model can keep it and go on. */
export interface TimingsProgress extends ConversationTimings {
  /** The customer's oldest unanswered message. */
  readonly waitingSince: string | null;
  readonly answeredOnce: boolean;
  readonly openedAt: string | null;
  readonly queuedAt: string | null;
}

export function startTimings(): TimingsProgress {
  return {
    firstResponseSeconds: null,
    nextResponseSeconds: [],
    resolutionSeconds: [],
    queueWaitSeconds: [],
    waitingSince: null,
    answeredOnce: false,
    openedAt: null,
    queuedAt: null,
  };
}

export function stepTimings(p: TimingsProgress, event: ConversationEvent, rules: TimingRules = {}): TimingsProgress {
  const elapsed = rules.elapsed ?? wallClock;
  switch (event.type) {
    case 'conversation.started':
    case 'conversation.reopened':
      return { ...p, openedAt: event.data.at };
    case 'conversation.message-received':
      return p.waitingSince === null ? { ...p, waitingSince: event.data.at } : p;
    case 'conversation.message-sent': {
      const counts = event.data.author.kind === 'agent' || (rules.botsCount === true && event.data.author.kind === 'bot');
      if (!counts || p.waitingSince === null) return p;
      const seconds = elapsed(p.waitingSince, event.data.at);
      return {
        ...p,
        ...(p.answeredOnce ? { nextResponseSeconds: [...p.nextResponseSeconds, seconds] } : { firstResponseSeconds: seconds }),
        answeredOnce: true,
        waitingSince: null,
      };
    }
    case 'conversation.resolved':
      return {
        ...p,
        resolutionSeconds: p.openedAt !== null ? [...p.resolutionSeconds, elapsed(p.openedAt, event.data.at)] : p.resolutionSeconds,
        openedAt: null,
        waitingSince: null,
        queuedAt: null,
      };
    case 'conversation.queued':
      return p.queuedAt === null ? { ...p, queuedAt: event.data.at } : p;
    case 'conversation.assigned':
      return { ...p, queueWaitSeconds: p.queuedAt !== null ? [...p.queueWaitSeconds, elapsed(p.queuedAt, event.data.at)] : p.queueWaitSeconds, queuedAt: null };
    default:
      return p;
  }
}

/**
 * Response, resolution and waiting times, derived from the events alone, so that
 * when the rules change (new business hours, bots counted or not) they are
 * recomputed by replaying the log with other rules.
 */
export function conversationTimings(events: readonly ConversationEvent[], rules: TimingRules = {}): ConversationTimings {
  let p = startTimings();
  for (const event of events) p = stepTimings(p, event, rules);
  return {
    firstResponseSeconds: p.firstResponseSeconds,
    nextResponseSeconds: p.nextResponseSeconds,
    resolutionSeconds: p.resolutionSeconds,
    queueWaitSeconds: p.queueWaitSeconds,
  };
}
