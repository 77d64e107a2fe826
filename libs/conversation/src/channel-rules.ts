import type { Channel } from '@parley/contracts';
import type { Attachment } from '@parley/contracts';
import { InvalidArgumentError } from '@parley/errors';
import { AttachmentTooLargeError, ChannelClosedError, ChannelNotReachableError, ChannelWindowClosedError } from './conversation.errors';
import type { ConversationState } from './conversation.state';

const HOUR_MS = 3_600_000;
export const WHATSAPP_WINDOW_HOURS = 24;
export const MESSENGER_WINDOW_HOURS = 24;
export const MESSENGER_HUMAN_AGENT_HOURS = 24 * 7;

export interface OutboundMessage {
  readonly channel: Channel;
  readonly byHumanAgent: boolean;
  readonly template: boolean;
  readonly humanAgentTag: boolean;
  readonly at: string;
}

const MB = 1024 * 1024;

/**
 * The largest attachment each channel carries, by media type, as the channels
 * document them (WhatsApp Cloud API media limits, Messenger's 25 MB, Apple's
 * 100 MB; web and e-mail are ours to set, SMS means MMS carriers' 5 MB).
 */
export function attachmentLimitBytes(channel: Channel, mimeType: string): number {
  const top = mimeType.split('/')[0];
  switch (channel) {
    case 'whatsapp':
      if (mimeType === 'image/webp') return 500 * 1024; // stickers
      if (top === 'image') return 5 * MB;
      if (top === 'video' || top === 'audio') return 16 * MB;
      return 100 * MB;
    case 'messenger':
      return 25 * MB;
    case 'apple':
      return 100 * MB;
    case 'sms':
      return 5 * MB;
    case 'web':
    case 'email':
      return 25 * MB;
    case 'custom':
      return 100 * MB;
  }
}

/**
 * Channels that take a file Parley keeps (`blob:`): the widget (the visitor reads it
 * from Parley), WhatsApp (uploaded to its media API first), and the Kafka channels
 * (their integration reads it through GetAttachment). Messenger and Apple fetch
 * attachments by public URL, which a file Parley keeps has not.
 */
const KEPT_FILES: ReadonlySet<Channel> = new Set(['web', 'whatsapp', 'sms', 'email', 'custom']);

export function assertAttachmentsFit(channel: Channel, attachments: readonly Attachment[]): void {
  if (!KEPT_FILES.has(channel) && attachments.some((a) => a.ref.startsWith('blob:')))
    throw new InvalidArgumentError('attachment not sendable on this channel', [
      { field: 'attachments', description: `a file Parley keeps is sent on web chat, WhatsApp and the Kafka channels; on ${channel} send a public link` },
    ]);
  for (const a of attachments) {
    const limit = attachmentLimitBytes(channel, a.mimeType);
    if (a.sizeBytes > limit) throw new AttachmentTooLargeError(channel, a.mimeType, a.sizeBytes, limit);
  }
}

/** What every message text may hold: the event contract's limit, in UTF-16 code units. */
export const MESSAGE_TEXT_MAX = 65_536;

/**
 * The longest text each channel carries, in characters, as the channels document
 * them (WhatsApp Cloud API text body 4,096; Messenger Send API 2,000; SMS 1,600, what
 * carriers join into one message); the others carry what the event contract allows.
 * Longer texts are refused, never cut: the agent decides how to split them.
 */
export function textLimitCharacters(channel: Channel): number {
  switch (channel) {
    case 'whatsapp':
      return 4_096;
    case 'messenger':
      return 2_000;
    case 'sms':
      return 1_600;
    default:
      return MESSAGE_TEXT_MAX;
  }
}

export function assertTextFits(channel: Channel, text: string | undefined): void {
  if (text === undefined) return;
  const limit = textLimitCharacters(channel);
  if (text.length > MESSAGE_TEXT_MAX)
    throw new InvalidArgumentError('text too long', [
      { field: 'text', description: `at most ${MESSAGE_TEXT_MAX} characters (UTF-16 code units); this one has ${text.length}` },
    ]);
  const characters = [...text].length;
  if (characters > limit)
    throw new InvalidArgumentError(`text too long for ${channel}`, [
      { field: 'text', description: `${channel} carries at most ${limit} characters; this one has ${characters}` },
    ]);
}

/** Picks the reply channel: the one asked for, else the one the customer last wrote on. */
export function replyChannel(state: ConversationState, requested: Channel | undefined): Channel {
  return requested ?? state.lastCustomerChannel ?? 'web';
}

/**
 * Whether a message may go out on a channel now; throws the named error that
 * says why not. The rules are the channels' own:
 * - WhatsApp: free-form within 24 h of the customer's last message there, else
 *   only an approved template;
 * - Messenger: 24 h; with the HUMAN_AGENT tag a human agent may answer up to 7 days;
 * - Apple Messages for Business: only the customer can start, and once they
 *   closed the conversation nothing more may be sent;
 * - web, e-mail, SMS, custom: no window (the visitor sees web replies on return).
 */
export function assertMaySend(state: ConversationState, message: OutboundMessage, reachableChannels: readonly Channel[] = []): void {
  const channel = state.channels[message.channel];
  const usedByCustomer = channel?.lastCustomerMessageAt != null;
  if (message.channel === 'apple') {
    if (!usedByCustomer) throw new ChannelNotReachableError('apple', 'customer-must-start');
    if (channel?.closed) throw new ChannelClosedError('apple');
    return;
  }
  if (message.channel === 'web') return;
  if (!usedByCustomer && !reachableChannels.includes(message.channel)) throw new ChannelNotReachableError(message.channel, 'no-identity');
  const last = channel?.lastCustomerMessageAt ?? null;
  const age = last === null ? Number.POSITIVE_INFINITY : Date.parse(message.at) - Date.parse(last);
  if (message.channel === 'whatsapp') {
    if (message.template) return;
    if (age > WHATSAPP_WINDOW_HOURS * HOUR_MS) throw new ChannelWindowClosedError('whatsapp', last, WHATSAPP_WINDOW_HOURS, 'template');
    return;
  }
  if (message.channel === 'messenger') {
    if (age <= MESSENGER_WINDOW_HOURS * HOUR_MS) return;
    if (message.humanAgentTag && message.byHumanAgent && age <= MESSENGER_HUMAN_AGENT_HOURS * HOUR_MS) return;
    const remedy = age <= MESSENGER_HUMAN_AGENT_HOURS * HOUR_MS && message.byHumanAgent && !message.humanAgentTag ? 'human-agent-tag' : null;
    throw new ChannelWindowClosedError('messenger', last, message.humanAgentTag ? MESSENGER_HUMAN_AGENT_HOURS : MESSENGER_WINDOW_HOURS, remedy);
  }
}
