import { toStruct } from '../customers/struct.mapper';
import type { Channel } from '@parley/contracts';
import type { ConversationView, TimelineEntry } from '@parley/conversation';

/** Between the domain's words and the proto's enums (String enums from proto-loader). */
const CHANNELS: Record<Channel, string> = {
  web: 'CHANNEL_WEB',
  whatsapp: 'CHANNEL_WHATSAPP',
  messenger: 'CHANNEL_MESSENGER',
  apple: 'CHANNEL_APPLE',
  email: 'CHANNEL_EMAIL',
  sms: 'CHANNEL_SMS',
  custom: 'CHANNEL_CUSTOM',
};

export function channelToProto(channel: Channel | null): string {
  return channel ? CHANNELS[channel] : 'CHANNEL_UNSPECIFIED';
}

export function channelFromProto(value: string | undefined): Channel | undefined {
  if (!value || value === 'CHANNEL_UNSPECIFIED') return undefined;
  return (Object.entries(CHANNELS).find(([, v]) => v === value)?.[0] as Channel | undefined) ?? undefined;
}

const STATUS = {
  new: 'CONVERSATION_STATUS_UNSPECIFIED',
  open: 'CONVERSATION_STATUS_OPEN',
  pending: 'CONVERSATION_STATUS_PENDING',
  snoozed: 'CONVERSATION_STATUS_SNOOZED',
  resolved: 'CONVERSATION_STATUS_RESOLVED',
} as const;

export function timestamp(iso: string | null): { seconds: number; nanos: number } | null {
  if (!iso) return null;
  const ms = Date.parse(iso);
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}

export function fromTimestamp(ts: { seconds?: number | string; nanos?: number } | null | undefined): string | undefined {
  if (!ts) return undefined;
  return new Date(Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000)).toISOString();
}

function entryToProto(entry: TimelineEntry) {
  if (entry.kind === 'session')
    return {
      at: timestamp(entry.at),
      type: entry.started ? 'conversation.session-started' : 'conversation.session-ended',
      session: { session_id: entry.sessionId, started: entry.started, reason: entry.reason ?? '' },
    };
  if (entry.kind === 'status') return { at: timestamp(entry.at), type: 'conversation.status', status: { status: STATUS[entry.status] } };
  if (entry.kind === 'note')
    return {
      at: timestamp(entry.at),
      type: 'conversation.note-added',
      note: { id: entry.noteId, agent_id: entry.agentId, text: entry.erased ? '' : (entry.text ?? ''), erased: entry.erased },
    };
  if (entry.kind === 'page')
    return {
      at: timestamp(entry.at),
      type: 'conversation.page-context-recorded',
      page: {
        url: entry.erased ? '' : (entry.url ?? ''),
        attributes: toStruct(entry.attributes as Record<string, unknown>),
        verified_attributes: toStruct(entry.verifiedAttributes as Record<string, unknown>),
        erased: entry.erased,
      },
    };
  return {
    at: timestamp(entry.at),
    type: entry.inbound ? 'conversation.message-received' : 'conversation.message-sent',
    message: {
      id: entry.id,
      inbound: entry.inbound,
      channel: channelToProto(entry.channel),
      device: entry.device ?? '',
      text: entry.deleted || entry.erased ? '' : (entry.text ?? ''),
      attachments: entry.deleted
        ? []
        : entry.attachments.map((a) => ({
            ref: typeof a.ref === 'string' ? a.ref : '',
            mime_type: a.mimeType,
            size_bytes: a.sizeBytes,
            name: typeof a.name === 'string' ? a.name : '',
          })),
      author: entry.author
        ? entry.author.kind === 'agent'
          ? { agent_id: entry.author.agentId }
          : entry.author.kind === 'bot'
            ? { bot_id: entry.author.botId }
            : { system: true }
        : null,
      edited: entry.edits.length > 0,
      deleted: entry.deleted,
      erased: entry.erased,
      receipts: { delivered_at: timestamp(entry.deliveredAt), read_at: timestamp(entry.readAt), failed: entry.failed },
      template: entry.template,
    },
  };
}

export function conversationToProto(conversationId: string, view: ConversationView, withTimeline = true) {
  const s = view.state;
  return {
    id: conversationId,
    customer_id: s.customerId ?? '',
    status: STATUS[s.status],
    agent_id: s.agentId ?? '',
    queue_id: s.queueId ?? '',
    priority: s.priority,
    tags: [...s.tags],
    satisfaction: s.satisfaction ?? 0,
    last_customer_channel: channelToProto(s.lastCustomerChannel),
    timeline: withTimeline ? view.timeline.map(entryToProto) : [],
    version: view.version,
    last_activity_at: timestamp(view.lastActivityAt),
    service_levels: {
      first_response: duration(view.timings.firstResponseSeconds),
      next_responses: view.timings.nextResponseSeconds.map(duration),
      resolutions: view.timings.resolutionSeconds.map(duration),
      queue_waits: view.timings.queueWaitSeconds.map(duration),
      waiting_since: timestamp(view.timings.waitingSince),
    },
  };
}

export function duration(seconds: number | null): { seconds: number; nanos: number } | null {
  if (seconds === null) return null;
  const whole = Math.floor(seconds);
  return { seconds: whole, nanos: Math.round((seconds - whole) * 1e9) };
}
