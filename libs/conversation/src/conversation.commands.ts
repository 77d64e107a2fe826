import type { Attachment, Author, Channel, PageAttributes, Template } from '@parley/contracts';

/** Commands carry the time (`at`) and every id: the decider has no clock and no randomness. */
export type ConversationCommand =
  | {
      type: 'ReceiveMessage';
      conversationId: string;
      customerId: string;
      messageId: string;
      channel: Channel;
      channelMessageId: string;
      text?: string;
      attachments?: Attachment[];
      device?: string;
      sessionId?: string;
      at: string;
    }
  | {
      type: 'SendMessage';
      messageId: string;
      /** Default: the channel the customer last wrote on. */
      channel?: Channel;
      author: Author;
      text?: string;
      attachments?: Attachment[];
      template?: Template;
      tag?: 'HUMAN_AGENT';
      /** Channels the customer has identities on (from the customer view), beyond those used in this conversation. */
      reachableChannels?: Channel[];
      at: string;
    }
  | { type: 'EditMessage'; messageId: string; text: string; by: 'customer' | 'agent'; at: string }
  | { type: 'DeleteMessage'; messageId: string; by: 'customer' | 'agent'; at: string }
  /** For one message, by our id or by the channel's (WhatsApp statuses carry only the wamid); or every message up to a time. */
  | {
      type: 'RecordReceipt';
      channel: Channel;
      status: 'delivered' | 'read' | 'failed';
      reader: 'customer' | 'agent';
      messageId?: string;
      channelMessageId?: string;
      upTo?: string;
      error?: string;
      at: string;
    }
  /** The channel took a reply and named it: its statuses can be matched by that id. */
  | { type: 'RecordAcceptance'; channel: Channel; messageId: string; channelMessageId: string; at: string }
  | { type: 'StartTyping' | 'StopTyping'; by: 'customer' | 'agent'; agentId?: string; channel: Channel; at: string }
  | { type: 'StartSession'; conversationId: string; customerId: string; sessionId: string; device?: string; at: string }
  | { type: 'EndSession'; sessionId: string; reason: 'left-page' | 'timed-out' | 'closed-by-agent'; at: string }
  | { type: 'MarkPending'; by: Author; at: string }
  | { type: 'Snooze'; by: Author; until?: string; at: string }
  /**
   * With `survey`, the customer is asked for a rating: in the widget, or on WhatsApp
   * within its 24-hour window by a message with this id and text (in their language).
   */
  | { type: 'Resolve'; by: Author; survey?: { messageId: string; text: string }; at: string }
  | { type: 'Reopen'; reason: 'agent' | 'snooze-ended'; at: string }
  | { type: 'Queue'; queueId: string; priority: number; reason: 'new' | 'reopened' | 'transferred' | 'requeued'; at: string }
  | { type: 'Offer'; offerId: string; agentId: string; expiresAt: string; at: string }
  | { type: 'DeclineOffer'; offerId: string; reason: 'declined' | 'timed-out'; at: string }
  | { type: 'Assign'; agentId: string; offerId?: string; at: string }
  | { type: 'Transfer'; to: { kind: 'agent'; agentId: string } | { kind: 'queue'; queueId: string }; mode: 'warm' | 'cold'; at: string }
  | { type: 'Unassign'; reason: 'agent-offline' | 'manual'; at: string }
  | { type: 'SetPriority'; priority: number; at: string }
  | { type: 'Tag' | 'Untag'; tag: string; at: string }
  | { type: 'RecordSatisfaction'; score: number; comment?: string; at: string }
  /** Where the widget's visitor is and what the page says of them (see conversation.page-context-recorded). */
  | { type: 'RecordPageContext'; url: string; attributes: PageAttributes; verifiedAttributes: PageAttributes; at: string }
  /** A private note for colleagues; its id makes a retry harmless. */
  | { type: 'AddNote'; noteId: string; agentId: string; text: string; at: string }
  | { type: 'CloseChannel'; channel: Channel; at: string };
