import type { Attachment, Channel, Identity } from '@parley/contracts';

/** What a channel told us, in Parley's words, before it touches the log. */
export type InboundEvent =
  | {
      readonly kind: 'message';
      readonly tenantId: string;
      readonly channel: Channel;
      readonly identity: Identity;
      readonly channelMessageId: string;
      readonly text?: string;
      readonly attachments: readonly Attachment[];
      readonly at: string;
    }
  | {
      readonly kind: 'receipt';
      readonly tenantId: string;
      readonly channel: Channel;
      readonly identity: Pick<Identity, 'kind' | 'id'>;
      readonly status: 'delivered' | 'read' | 'failed';
      /** Our message id, when the channel echoes it back; or the channel's own id of the reply; otherwise `upTo` marks everything sent until then. */
      readonly messageId?: string;
      readonly channelMessageId?: string;
      readonly upTo?: string;
      readonly error?: string;
      readonly at: string;
    }
  | { readonly kind: 'close'; readonly tenantId: string; readonly channel: Channel; readonly identity: Pick<Identity, 'kind' | 'id'>; readonly at: string };

export const fromUnixSeconds = (s: string | number) => new Date(Number(s) * 1000).toISOString();
export const fromUnixMillis = (ms: string | number) => new Date(Number(ms)).toISOString();
