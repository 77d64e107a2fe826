import { ParleyError } from '@parley/errors';

/** The body is not what the channel documents; nothing of it was recorded. */
export class MalformedWebhookError extends ParleyError {
  readonly code = 'WEBHOOK_MALFORMED';
  readonly category = 'invalid_argument' as const;
  constructor(
    readonly channel: string,
    readonly problem: string,
  ) {
    super(`malformed ${channel} webhook: ${problem}`);
  }
  override details() {
    return { channel: this.channel, problem: this.problem };
  }
}

/** The zod issues of a body, as one line for the error. */
export function malformed(channel: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): MalformedWebhookError {
  return new MalformedWebhookError(
    channel,
    issues
      .map((i) => `${i.path.map(String).join('.')}: ${i.message}`)
      .join('; ')
      .slice(0, 500),
  );
}

/** The signature or token does not prove the sender; nothing of it was recorded. */
export class WebhookSignatureError extends ParleyError {
  readonly code = 'WEBHOOK_SIGNATURE_INVALID';
  readonly category = 'unauthenticated' as const;
  constructor(readonly channel: string) {
    super(`${channel} webhook signature missing or invalid`);
  }
  override details() {
    return { channel: this.channel };
  }
}

/** The body is larger than the channel may send (WEBHOOK_MAX_BYTES); not read further. */
export class WebhookTooLargeError extends ParleyError {
  readonly code = 'WEBHOOK_TOO_LARGE';
  readonly category = 'resource_exhausted' as const;
  constructor(
    readonly channel: string,
    readonly limitBytes: number,
  ) {
    super(`${channel} webhook body over ${limitBytes} bytes`);
  }
  override details() {
    return { channel: this.channel, limitBytes: String(this.limitBytes) };
  }
}

/** The signed body is not UTF-8, or not JSON; nothing of it was recorded. */
export class WebhookEncodingError extends ParleyError {
  readonly category = 'invalid_argument' as const;
  constructor(
    readonly channel: string,
    readonly code: 'WEBHOOK_NOT_UTF8' | 'WEBHOOK_NOT_JSON',
  ) {
    super(`${channel} webhook body is not ${code === 'WEBHOOK_NOT_UTF8' ? 'valid UTF-8' : 'JSON'}`);
  }
  override details() {
    return { channel: this.channel };
  }
}

/** Meta documents no size; its batches stay far below this. */
export const WEBHOOK_MAX_BYTES = 2 * 1024 * 1024;

const HTTP_STATUS: Record<ParleyError['category'], number> = {
  invalid_argument: 400,
  failed_precondition: 409,
  conflict: 409,
  not_found: 404,
  unauthenticated: 401,
  permission_denied: 403,
  unavailable: 503,
  resource_exhausted: 413,
};

/** Parley errors become HTTP statuses here, once; anything else is a 500 (and Meta retries). */
export function httpStatusOf(error: unknown): number {
  return error instanceof ParleyError ? HTTP_STATUS[error.category] : 500;
}
