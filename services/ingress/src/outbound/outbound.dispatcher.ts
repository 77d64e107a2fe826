import { identityKey, streams, type Attachment, type Channel, type Template } from '@parley/contracts';
import { view } from '@parley/customer';
import type { CustomerDirectory } from '@parley/customer-directory';
import type { RecordedEvent } from '@parley/event-log';
import { counter, histogram, type Logger, type Registry } from '@parley/observability';
import type { Projection, ReadDocument } from '@parley/read-model';
import type { InboundRecorder } from '../inbound/inbound.recorder';
import type { ChannelConnector } from './channel.connector';
import { DeliveryFailedError } from './graph.client';
import type { RateLimiter } from './rate.limiter';

interface SentMarker extends ReadDocument {
  readonly outcome: 'sent' | 'failed' | 'skipped';
  readonly channelMessageId: string;
}

export const OUTBOUND_TABLE = 'outbound_deliveries';

/**
 * Follows the log and delivers every reply written for a messaging channel,
 * through that channel's connector. It runs as a projection: its checkpoint is
 * how far it has delivered, and a marker per message keeps a restarted
 * dispatcher from sending twice what it already sent (only a crash between the
 * channel's answer and the marker can repeat one message: the channels offer no
 * idempotency key). A reply the channel refuses becomes a `failed` receipt on the
 * message, which the agent sees.
 */
/** Replies are all the dispatcher delivers. */
export const DISPATCHED_TYPES: readonly string[] = ['conversation.message-sent'];

export function outboundDispatcher(options: {
  readonly connectors: readonly ChannelConnector[];
  readonly directory: CustomerDirectory;
  readonly recorder: InboundRecorder;
  /** The runner reads the log as stored; only the replies are opened, with this. */
  readonly open: (event: RecordedEvent) => Promise<RecordedEvent>;
  readonly perAccount: RateLimiter;
  readonly perRecipient: RateLimiter;
  readonly maxAgeMs: number;
  readonly logger: Logger;
  readonly registry: Registry;
  readonly now?: () => number;
}): Projection {
  const connectors = new Map<Channel, ChannelConnector>(options.connectors.map((c) => [c.channel, c]));
  const outcomes = counter(options.registry, {
    name: 'parley_ingress_outbound_total',
    help: 'Replies delivered to messaging channels, by channel and outcome.',
    labelNames: ['channel', 'outcome'] as const,
  });
  const latency = histogram(options.registry, {
    name: 'parley_ingress_outbound_delivery_seconds',
    help: 'From the reply being written to the channel accepting it.',
    labelNames: ['channel'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  const now = options.now ?? Date.now;

  async function deliver(event: RecordedEvent, table: string, store: Parameters<Projection['handle']>[1]): Promise<void> {
    const d = event.data as {
      messageId: string;
      channel: Channel;
      text?: unknown;
      attachments: Attachment[];
      template?: Template;
      tag?: 'HUMAN_AGENT';
      at: string;
    };
    const connector = connectors.get(d.channel);
    if (!connector) return;
    const markerId = `${event.streamId}#${d.messageId}`;
    if (await store.get<SentMarker>(table, markerId)) return;
    const mark = (outcome: SentMarker['outcome'], channelMessageId = '') =>
      store.upsert(table, { id: markerId, outcome, channelMessageId } satisfies SentMarker);
    if (now() - Date.parse(d.at) > options.maxAgeMs || typeof d.text === 'object') {
      // Too old when first seen (a new deployment over an old log), or erased since.
      outcomes.inc({ channel: d.channel, outcome: 'skipped' });
      return mark('skipped');
    }
    const customerId = String(event.metadata['subjectId'] ?? '');
    const { state } = await options.directory.customers.load(streams.customer(event.tenantId, customerId));
    const recipient = [...view(state).identities].reverse().find((i) => i.kind === d.channel);
    try {
      if (!recipient) throw new DeliveryFailedError(d.channel, 0, 'the customer has no identity on this channel', 0);
      const account = connector.accountOf(event.tenantId);
      if (account) await options.perAccount.take(`${d.channel}:${account}`);
      await options.perRecipient.take(`${d.channel}:${identityKey(recipient)}`);
      const sent = await connector.send({
        tenantId: event.tenantId,
        conversationId: event.streamId.slice(`conversation-${event.tenantId}-`.length),
        messageId: d.messageId,
        recipient,
        ...(typeof d.text === 'string' ? { text: d.text } : {}),
        attachments: d.attachments,
        ...(d.template ? { template: d.template } : {}),
        ...(d.tag ? { tag: d.tag } : {}),
      });
      latency.observe({ channel: d.channel }, Math.max(0, (now() - Date.parse(d.at)) / 1000));
      outcomes.inc({ channel: d.channel, outcome: 'sent' });
      await mark('sent', sent.channelMessageId);
      await accepted(event, d, customerId, sent.channelMessageId);
    } catch (error) {
      if (!(error instanceof DeliveryFailedError)) throw error;
      options.logger.warn(
        { channel: d.channel, status: error.status, reason: error.reason, attempts: error.attempts, tenantId: event.tenantId },
        'reply not delivered',
      );
      outcomes.inc({ channel: d.channel, outcome: 'failed' });
      await options.recorder.conversations.handle(
        event.streamId,
        {
          type: 'RecordReceipt',
          channel: d.channel,
          status: 'failed',
          reader: 'customer',
          messageId: d.messageId,
          error: `${error.status} ${error.reason}`.slice(0, 500),
          at: new Date(now()).toISOString(),
        },
        { tenantId: event.tenantId, metadata: { subjectId: customerId, actor: `channel:${d.channel}` } },
      );
      await mark('failed');
    }
  }

  /**
   * The channel's id for the reply goes into the conversation, where a status that
   * names only that id (WhatsApp's own examples carry no callback data) finds it.
   * After the reply is marked sent: failing here must never send it twice.
   */
  async function accepted(event: RecordedEvent, d: { messageId: string; channel: Channel }, customerId: string, channelMessageId: string): Promise<void> {
    if (!channelMessageId) return;
    try {
      await options.recorder.conversations.handle(
        event.streamId,
        { type: 'RecordAcceptance', channel: d.channel, messageId: d.messageId, channelMessageId, at: new Date(now()).toISOString() },
        { tenantId: event.tenantId, metadata: { subjectId: customerId, actor: `channel:${d.channel}` } },
      );
    } catch (error) {
      options.logger.warn(
        { channel: d.channel, tenantId: event.tenantId, err: error instanceof Error ? error.name : String(error) },
        "the channel's id for a reply was not recorded: its statuses match only by callback data",
      );
    }
  }

  return {
    name: 'outbound-dispatch',
    tables: [OUTBOUND_TABLE],
    types: DISPATCHED_TYPES,
    async handle(event, store, tables) {
      if (event.type !== 'conversation.message-sent') return;
      await deliver(await options.open(event), tables.table(OUTBOUND_TABLE), store);
    },
  };
}
