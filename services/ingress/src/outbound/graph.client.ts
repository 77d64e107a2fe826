import { ParleyError } from '@parley/errors';

/** The channel's API refused or kept failing; the reply is marked failed for the agent to see. */
export class DeliveryFailedError extends ParleyError {
  readonly code = 'DELIVERY_FAILED';
  readonly category = 'unavailable' as const;
  constructor(
    readonly channel: string,
    readonly status: number,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(`${channel} delivery failed after ${attempts} attempt(s): ${status} ${reason}`);
  }
  override details() {
    return { channel: this.channel, status: this.status, reason: this.reason, attempts: this.attempts };
  }
}

export interface RetryPolicy {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * POSTs JSON with a bearer token. Network errors, 429 and 5xx are retried with
 * exponential backoff and jitter; other 4xx are final (the request itself is wrong,
 * or the window closed, and sending again cannot help).
 */
export async function postJson<T>(
  channel: string,
  url: string,
  token: string,
  body: unknown,
  policy: RetryPolicy,
  headers: Record<string, string> = {},
): Promise<T> {
  return post<T>(channel, url, token, () => ({ headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }), policy);
}

/** POSTs a multipart form (a file upload) with a bearer token, retried as postJson is. */
export async function postForm<T>(channel: string, url: string, token: string, form: () => FormData, policy: RetryPolicy): Promise<T> {
  return post<T>(channel, url, token, () => ({ headers: {}, body: form() }), policy);
}

async function post<T>(
  channel: string,
  url: string,
  token: string,
  request: () => { headers: Record<string, string>; body: string | FormData },
  policy: RetryPolicy,
): Promise<T> {
  const sleep = policy.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let last: { status: number; reason: string } = { status: 0, reason: 'not sent' };
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    try {
      const { headers, body } = request();
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, ...headers },
        body,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.ok) return (text ? JSON.parse(text) : {}) as T;
      last = { status: response.status, reason: reasonOf(text) };
      if (response.status !== 429 && response.status < 500) throw new DeliveryFailedError(channel, last.status, last.reason, attempt);
    } catch (error) {
      if (error instanceof DeliveryFailedError) throw error;
      last = { status: 0, reason: error instanceof Error ? error.name : 'network error' };
    }
    if (attempt < policy.attempts) await sleep(policy.backoffMs * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
  }
  throw new DeliveryFailedError(channel, last.status, last.reason, policy.attempts);
}

/** Graph API errors say what went wrong in `error.message` and `error.code`; never the message content. */
function reasonOf(text: string): string {
  try {
    const e = (JSON.parse(text) as { error?: { code?: number; message?: string } }).error;
    if (e) return `${e.code ?? ''} ${e.message ?? ''}`.trim().slice(0, 200);
  } catch {
    // not JSON
  }
  return text.slice(0, 200);
}
