import { ParleyError } from '@parley/errors';

/** The body is not what the channel documents; nothing of it was recorded. */
export class MalformedWebhookError extends ParleyError {
  readonly code = 'WEBHOOK_MALFORMED';
  readonly category = 'invalid_argument' as const;
  constructor(readonly channel: string, readonly problem: string) {
    super(`malformed ${channel} webhook: ${problem}`);
  }
  override details() {
    return { channel: this.channel, problem: this.problem };
  }
}

/** The zod issues of a body, as one line for the error. */
export function malformed(channel: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): MalformedWebhookError {
  return new MalformedWebhookError(channel, issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ').slice(0, 500));
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

const HTTP_STATUS: Record<ParleyError['category'], number> = {
  invalid_argument: 400,
  failed_precondition: 409,
  conflict: 409,
  not_found: 404,
  unauthenticated: 401,
  permission_denied: 403,
  unavailable: 503,
};

/** Parley errors become HTTP statuses here, once; anything else is a 500 (and Meta retries). */
export function httpStatusOf(error: unknown): number {
  return error instanceof ParleyError ? HTTP_STATUS[error.category] : 500;
}
