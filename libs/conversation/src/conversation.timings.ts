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

/**
 * Response, resolution and waiting times, derived from the events alone, so that
 * when the rules change (new business hours, bots counted or not) they are
 * recomputed by replaying the log with another `elapsed`.
 */
export function conversationTimings(events: readonly ConversationEvent[], options: { elapsed?: Elapsed; botsCount?: boolean } = {}): ConversationTimings {
  const elapsed = options.elapsed ?? wallClock;
  let firstResponse: number | null = null;
  const next: number[] = [];
  const resolutions: number[] = [];
  const queueWaits: number[] = [];
  let waitingSince: string | null = null; // the customer's unanswered message
  let answeredOnce = false;
  let openedAt: string | null = null;
  let queuedAt: string | null = null;

  for (const event of events) {
    switch (event.type) {
      case 'conversation.started':
        openedAt = event.data.at;
        break;
      case 'conversation.reopened':
        openedAt = event.data.at;
        break;
      case 'conversation.message-received':
        waitingSince ??= event.data.at;
        break;
      case 'conversation.message-sent': {
        const counts = event.data.author.kind === 'agent' || (options.botsCount === true && event.data.author.kind === 'bot');
        if (!counts || waitingSince === null) break;
        const seconds = elapsed(waitingSince, event.data.at);
        if (answeredOnce) next.push(seconds);
        else firstResponse = seconds;
        answeredOnce = true;
        waitingSince = null;
        break;
      }
      case 'conversation.resolved':
        if (openedAt !== null) resolutions.push(elapsed(openedAt, event.data.at));
        openedAt = null;
        waitingSince = null;
        queuedAt = null;
        break;
      case 'conversation.queued':
        queuedAt ??= event.data.at;
        break;
      case 'conversation.assigned':
        if (queuedAt !== null) queueWaits.push(elapsed(queuedAt, event.data.at));
        queuedAt = null;
        break;
      default:
        break;
    }
  }
  return { firstResponseSeconds: firstResponse, nextResponseSeconds: next, resolutionSeconds: resolutions, queueWaitSeconds: queueWaits };
}
