import { counter, histogram, type Logger, type Registry } from '@parley/observability';
import { ParleyError } from '@parley/errors';
import type { ChannelAccounts } from '../config/ingress.config';
import type { InboundEvent } from '../inbound/inbound.event';
import type { InboundIntake } from '../inbound/inbound.intake';
import { parseApple, type AppleHeaders } from '../webhooks/apple.webhook';
import { parseMessenger } from '../webhooks/messenger.webhook';
import { metaHandshake, verifyMetaSignature } from '../webhooks/meta.signature';
import { WEBHOOK_MAX_BYTES, WebhookEncodingError, WebhookSignatureError, WebhookTooLargeError, httpStatusOf } from '../webhooks/webhook.errors';

/** Fatal: a byte sequence that is not UTF-8 is refused, not replaced. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
import { parseWhatsApp } from '../webhooks/whatsapp.webhook';

export interface WebhookAnswer {
  readonly status: number;
  readonly body: string | Record<string, unknown>;
}

/**
 * The webhooks, framework-free: verify first, then parse, then hand every event
 * to the intake (the log, or Kafka on its way to the log), and only once they are
 * durable there answer 200. Anything that fails before the end is answered with an
 * error, so the channel delivers it again; records are idempotent by the channel's
 * message id, so nothing is doubled either.
 */
export class IngressWebhooks {
  private readonly rejections;
  private readonly ack;

  constructor(
    private readonly accounts: ChannelAccounts,
    private readonly intake: InboundIntake,
    private readonly logger: Logger,
    registry: Registry,
  ) {
    this.rejections = counter(registry, {
      name: 'parley_ingress_webhook_rejections_total',
      help: 'Webhooks refused, by channel and reason.',
      labelNames: ['channel', 'reason'] as const,
    });
    this.ack = histogram(registry, {
      name: 'parley_ingress_webhook_ack_seconds',
      help: 'From receiving a webhook to answering it, after its events are durable (in the log, or on Kafka on their way to it).',
      labelNames: ['channel', 'status'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5],
    });
  }

  handshake(channel: 'whatsapp' | 'messenger', query: Record<string, unknown>): Promise<WebhookAnswer> {
    return this.guard(channel, process.hrtime.bigint(), async () => {
      if (!this.accounts.meta) throw new WebhookSignatureError(channel);
      return { status: 200, body: metaHandshake(query, this.accounts.meta.verifyToken) };
    });
  }

  whatsapp(rawBody: Buffer | undefined, signature: string | undefined): Promise<WebhookAnswer> {
    return this.meta('whatsapp', rawBody, signature, (body) =>
      parseWhatsApp(body, (id) => this.accounts.whatsapp.find((a) => a.phoneNumberId === id)?.tenantId),
    );
  }

  messenger(rawBody: Buffer | undefined, signature: string | undefined): Promise<WebhookAnswer> {
    return this.meta('messenger', rawBody, signature, (body) => parseMessenger(body, (id) => this.accounts.messenger.find((a) => a.pageId === id)?.tenantId));
  }

  /** A body the edge would not read to its end: counted like every other rejection. */
  tooLarge(channel: 'whatsapp' | 'messenger', started: bigint): Promise<WebhookAnswer> {
    return this.guard(channel, started, async () => {
      throw new WebhookTooLargeError(channel, WEBHOOK_MAX_BYTES);
    });
  }

  /** Meta's webhooks: the signature over the raw bytes before anything else, then strict UTF-8, JSON, the schema, then record. */
  private meta(
    channel: 'whatsapp' | 'messenger',
    rawBody: Buffer | undefined,
    signature: string | undefined,
    parse: (body: unknown) => { events: InboundEvent[]; unknownAccounts: number },
  ): Promise<WebhookAnswer> {
    return this.guard(channel, process.hrtime.bigint(), async () => {
      verifyMetaSignature(channel, rawBody, signature, this.accounts.meta?.appSecret ?? '');
      let text: string;
      try {
        text = UTF8.decode(rawBody);
      } catch {
        throw new WebhookEncodingError(channel, 'WEBHOOK_NOT_UTF8');
      }
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        throw new WebhookEncodingError(channel, 'WEBHOOK_NOT_JSON');
      }
      const result = parse(body);
      if (result.unknownAccounts) this.rejections.inc({ channel, reason: 'unknown-account' }, result.unknownAccounts);
      await this.intake.accept(result.events);
      return { status: 200, body: { accepted: result.events.length } };
    });
  }

  apple(headers: AppleHeaders, body: unknown): Promise<WebhookAnswer> {
    return this.guard('apple', process.hrtime.bigint(), async () => {
      const event = await parseApple(body, headers, this.accounts.apple);
      if (event) await this.intake.accept([event]);
      return { status: 200, body: '' };
    });
  }

  private async guard(channel: string, started: bigint, run: () => Promise<WebhookAnswer>): Promise<WebhookAnswer> {
    let answer: WebhookAnswer;
    try {
      answer = await run();
    } catch (error) {
      if (error instanceof ParleyError) {
        this.rejections.inc({ channel, reason: error.code });
        answer = { status: httpStatusOf(error), body: { error: error.code, message: error.message } };
      } else {
        this.logger.error({ channel, err: error instanceof Error ? error.message : String(error) }, 'webhook failed; the channel will deliver it again');
        answer = { status: 500, body: { error: 'INTERNAL' } };
      }
    }
    this.ack.observe({ channel, status: String(answer.status) }, Number(process.hrtime.bigint() - started) / 1e9);
    return answer;
  }
}
