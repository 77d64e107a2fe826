import { createHash } from 'node:crypto';
import { EVENT_CONTRACTS, identityKey, streams, type ConversationEvent, type Identity } from '@parley/contracts';
import { MessageNotFoundError, SNAPSHOT_SCHEMA_VERSION, conversationDecider, type ConversationCommand, type ConversationState } from '@parley/conversation';
import type { CustomerDirectory } from '@parley/customer-directory';
import { DeciderStore, timeOrderedId, type EventLog } from '@parley/event-log';
import { counter, type Logger, type Registry } from '@parley/observability';
import { ConversationMetrics } from '@parley/conversation-metrics';
import { CustomerLanes } from './customer.lanes';
import type { ChannelMedia } from './channel.media';
import type { InboundEvent } from './inbound.event';

export type RecordOutcome = 'recorded' | 'duplicate' | 'unknown-customer' | 'unknown-message';

/**
 * Turns what a channel said into conversation events: finds (or registers) the
 * customer behind the identity, and appends to their one conversation with the
 * brand. The conversation id is the customer id: one customer, one conversation
 * per brand, whatever the channel. Returns only once the events are durable.
 */
export class InboundRecorder {
  readonly conversations: DeciderStore<ConversationCommand, ConversationEvent, ConversationState>;
  private readonly outcomes;
  private readonly lanes = new CustomerLanes();

  constructor(
    log: EventLog,
    private readonly directory: CustomerDirectory,
    private readonly logger: Logger,
    registry: Registry,
    /** Fetches channel media into the blob store before a message is recorded (absent: references kept as the channel gave them). */
    private readonly media?: ChannelMedia,
  ) {
    this.conversations = new DeciderStore({
      log,
      decider: conversationDecider,
      contracts: EVENT_CONTRACTS,
      snapshotSchemaVersion: SNAPSHOT_SCHEMA_VERSION,
      snapshotEvery: 200,
      cacheSize: 10_000,
      onAppended: new ConversationMetrics(registry).onAppended,
    });
    this.outcomes = counter(registry, {
      name: 'parley_ingress_inbound_total',
      help: 'Inbound channel events by channel, kind and outcome.',
      labelNames: ['channel', 'kind', 'outcome'] as const,
    });
  }

  async record(event: InboundEvent): Promise<RecordOutcome> {
    const outcome = await this.lanes.run(`${event.tenantId}/${identityKey(event.identity)}`, () => this.apply(event));
    this.outcomes.inc({ channel: event.channel, kind: event.kind, outcome });
    return outcome;
  }

  private async apply(event: InboundEvent): Promise<RecordOutcome> {
    const who = { tenantId: event.tenantId, actor: `channel:${event.channel}` };
    if (event.kind === 'message') {
      // One customer, one conversation: a new customer comes with its conversation attached.
      // Time-ordered ids: a new customer's streams go to the end of the log's stream index, not to random pages of it.
      const alias = verifiedPhoneOf(event.identity);
      const { customerId, created } = await this.directory.resolve(who, event.identity, 'channel', timeOrderedId, event.at, {
        attachConversation: (id) => id,
        ...(alias ? { alsoKnownAs: alias } : {}),
      });
      const stream = streams.conversation(event.tenantId, customerId);
      const attachments = this.media && event.attachments.length > 0 ? await this.media.store(event, customerId) : event.attachments;
      const result = await this.conversations.handle(
        stream,
        {
          type: 'ReceiveMessage',
          conversationId: customerId,
          customerId,
          // Derived from the channel's id, so a redelivery names the same message.
          messageId: `${event.channel}-${createHash('sha256').update(event.channelMessageId).digest('base64url').slice(0, 22)}`,
          channel: event.channel,
          channelMessageId: event.channelMessageId,
          ...(event.text !== undefined ? { text: event.text } : {}),
          attachments: [...attachments],
          at: event.at,
        },
        this.envelope(event.tenantId, customerId, event.channel),
        // A customer registered just now has no conversation yet (if it had, the append would say so).
        { newStream: created },
      );
      if (!created && result.events.some((e) => e.type === 'conversation.started')) {
        await this.directory.customers.handle(
          streams.customer(event.tenantId, customerId),
          { type: 'AttachConversation', conversationId: customerId, at: event.at },
          this.envelope(event.tenantId, customerId, event.channel),
        );
      }
      return result.events.length > 0 ? 'recorded' : 'duplicate';
    }
    const customerId = await this.directory.find(event.tenantId, event.identity);
    if (!customerId) return 'unknown-customer';
    const stream = streams.conversation(event.tenantId, customerId);
    const command: ConversationCommand =
      event.kind === 'close'
        ? { type: 'CloseChannel', channel: event.channel, at: event.at }
        : {
            type: 'RecordReceipt',
            channel: event.channel,
            status: event.status,
            reader: 'customer',
            ...(event.messageId ? { messageId: event.messageId } : {}),
            ...(event.channelMessageId ? { channelMessageId: event.channelMessageId } : {}),
            ...(event.upTo ? { upTo: event.upTo } : {}),
            ...(event.error ? { error: event.error } : {}),
            at: event.at,
          };
    try {
      const result = await this.conversations.handle(stream, command, this.envelope(event.tenantId, customerId, event.channel));
      return result.events.length > 0 ? 'recorded' : 'duplicate';
    } catch (error) {
      // A status for a message this conversation never sent (another system shares the number).
      if (error instanceof MessageNotFoundError) {
        this.logger.warn({ channel: event.channel, kind: event.kind }, 'receipt for an unknown message');
        return 'unknown-message';
      }
      throw error;
    }
  }

  private envelope(tenantId: string, customerId: string, channel: string) {
    return { tenantId, metadata: { subjectId: customerId, actor: `channel:${channel}` } };
  }
}

/**
 * The phone number WhatsApp verified (its wa_id), as an SMS identity in E.164:
 * the brand's shop or CRM knows its customers by phone, so one customer it is.
 */
export function verifiedPhoneOf(identity: Identity): Identity | null {
  if (identity.kind !== 'whatsapp') return null;
  // Payloads from before business-scoped user ids carry only wa_id, which is then the identity's id.
  const digits = identity.waId ?? (/^\d{6,20}$/.test(identity.id) ? identity.id : undefined);
  if (!digits) return null;
  const phone = `+${digits}`;
  return /^\+[1-9]\d{6,14}$/.test(phone) ? { kind: 'sms', id: phone } : null;
}
