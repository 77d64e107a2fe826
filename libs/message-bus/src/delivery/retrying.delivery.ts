import { DEAD_LETTER_HEADERS, DEFAULT_RETRY, type IncomingMessage, type MessageHandler, type OutgoingMessage, type RetryPolicy } from '../message-bus.port';

export interface DeliveryOutcome {
  /** `skipped`: its retries spent (or it can never succeed) where there are no dead letters (a group of one instance's own). */
  readonly status: 'handled' | 'dead-lettered' | 'skipped';
  readonly attempts: number;
}

/**
 * Runs a handler with retries and exponential backoff (with jitter), keeping the
 * consumer's group membership alive while it works, and hands the message to the
 * dead-letter topic once the retries are spent. Shared by every adapter so that
 * they behave the same; the contract suite checks it.
 */
export async function deliverWithRetry(params: {
  readonly message: IncomingMessage;
  readonly handler: MessageHandler;
  readonly retry?: Partial<RetryPolicy>;
  readonly groupId: string;
  readonly heartbeat: () => Promise<void>;
  readonly heartbeatEveryMs: number;
  /** Absent: a message that cannot be handled is skipped (the caller logs it). */
  readonly deadLetter?: (message: OutgoingMessage) => Promise<void>;
  readonly isStopping: () => boolean;
  readonly onFailure?: (error: unknown, attempt: number) => void;
}): Promise<DeliveryOutcome> {
  const policy = { ...DEFAULT_RETRY, ...params.retry };
  const ticker = setInterval(() => {
    params.heartbeat().catch(() => undefined);
  }, params.heartbeatEveryMs);
  try {
    let lastError: unknown;
    for (let attempt = 1; attempt <= policy.maxAttempts; attempt++) {
      try {
        await params.handler(params.message, { attempt, heartbeat: params.heartbeat });
        return { status: 'handled', attempts: attempt };
      } catch (error) {
        lastError = error;
        params.onFailure?.(error, attempt);
        // A message that can never succeed (it breaks its schema) goes to the dead letters at once.
        if (isPermanent(error)) {
          if (!params.deadLetter) return { status: 'skipped', attempts: attempt };
          await deadLetterOrReference(params.deadLetter, toDeadLetter(params.message, error, attempt, params.groupId));
          return { status: 'dead-lettered', attempts: attempt };
        }
        if (attempt === policy.maxAttempts) break;
        // Stopping mid-retry: give up without committing, the next owner retries.
        if (params.isStopping()) throw error;
        const backoff = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
    if (!params.deadLetter) return { status: 'skipped', attempts: policy.maxAttempts };
    await deadLetterOrReference(params.deadLetter, toDeadLetter(params.message, lastError, policy.maxAttempts, params.groupId));
    return { status: 'dead-lettered', attempts: policy.maxAttempts };
  } finally {
    clearInterval(ticker);
  }
}

/**
 * The dead letter as it came; a payload the dead-letter topic refuses as too large
 * (it arrived compressed, or the topic's limit is lower) goes as a reference instead:
 * the reason and where the original still is (topic, partition, offset), no payload.
 */
async function deadLetterOrReference(deadLetter: (message: OutgoingMessage) => Promise<void>, message: OutgoingMessage): Promise<void> {
  try {
    await deadLetter(message);
  } catch (error) {
    if (!isTooLarge(error)) throw error;
    await deadLetter({
      key: message.key,
      value: null,
      headers: {
        ...message.headers,
        [DEAD_LETTER_HEADERS.payloadOmitted]: 'too-large',
        [DEAD_LETTER_HEADERS.payloadBytes]: String(message.value?.length ?? 0),
      },
    });
  }
}

/** Kafka's answers for a record or batch over the broker's or topic's size limit. */
export function isTooLarge(error: unknown): boolean {
  const type = (error as { type?: unknown } | null)?.type;
  return type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE' || (error instanceof Error && /too large/i.test(error.message));
}

/** Errors that say so (`retryable: false`) are not retried. */
export function isPermanent(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === false;
}

function toDeadLetter(message: IncomingMessage, error: unknown, attempts: number, groupId: string): OutgoingMessage {
  const err = error instanceof Error ? error : new Error(String(error));
  return {
    key: message.key ?? '',
    value: message.value,
    headers: {
      ...message.headers,
      // Error messages are ours, not the customer's; they are cut short all the same.
      [DEAD_LETTER_HEADERS.error]: `${err.name}: ${err.message}`.slice(0, 1000),
      [DEAD_LETTER_HEADERS.errorCode]: String((err as { code?: unknown }).code ?? 'UNKNOWN'),
      [DEAD_LETTER_HEADERS.attempts]: String(attempts),
      [DEAD_LETTER_HEADERS.topic]: message.topic,
      [DEAD_LETTER_HEADERS.partition]: String(message.partition),
      [DEAD_LETTER_HEADERS.offset]: message.offset,
      [DEAD_LETTER_HEADERS.groupId]: groupId,
      [DEAD_LETTER_HEADERS.failedAt]: new Date().toISOString(),
    },
  };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
