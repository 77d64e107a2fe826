import {
  DEAD_LETTER_HEADERS,
  DEFAULT_RETRY,
  type IncomingMessage,
  type MessageHandler,
  type OutgoingMessage,
  type RetryPolicy,
} from '../message-bus.port';

export interface DeliveryOutcome {
  readonly status: 'handled' | 'dead-lettered';
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
  readonly deadLetter: (message: OutgoingMessage) => Promise<void>;
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
          await params.deadLetter(toDeadLetter(params.message, error, attempt, params.groupId));
          return { status: 'dead-lettered', attempts: attempt };
        }
        if (attempt === policy.maxAttempts) break;
        // Stopping mid-retry: give up without committing, the next owner retries.
        if (params.isStopping()) throw error;
        const backoff = Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (attempt - 1));
        await sleep(backoff / 2 + Math.random() * (backoff / 2));
      }
    }
    await params.deadLetter(toDeadLetter(params.message, lastError, policy.maxAttempts, params.groupId));
    return { status: 'dead-lettered', attempts: policy.maxAttempts };
  } finally {
    clearInterval(ticker);
  }
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
