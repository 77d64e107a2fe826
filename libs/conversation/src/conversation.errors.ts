import { ParleyError } from '@parley/errors';
import type { Channel } from '@parley/contracts';

/** The channel's messaging window is closed for this kind of message. */
export class ChannelWindowClosedError extends ParleyError {
  readonly code = 'CHANNEL_WINDOW_CLOSED';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly channel: Channel,
    readonly lastCustomerMessageAt: string | null,
    readonly windowHours: number,
    /** What would be allowed: an approved template (WhatsApp), the HUMAN_AGENT tag (Messenger), or nothing. */
    readonly remedy: 'template' | 'human-agent-tag' | null,
  ) {
    super(
      `${channel}: the ${windowHours}-hour window since the customer's last message is closed${remedy ? `; send with ${remedy === 'template' ? 'an approved template' : 'the HUMAN_AGENT tag'}` : ''}`,
    );
  }
  override details() {
    return { channel: this.channel, lastCustomerMessageAt: this.lastCustomerMessageAt, windowHours: this.windowHours, remedy: this.remedy };
  }
}

/** The customer cannot be reached on this channel: they never used it, or (Apple) only they may start. */
export class ChannelNotReachableError extends ParleyError {
  readonly code = 'CHANNEL_NOT_REACHABLE';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly channel: Channel,
    readonly reason: 'no-identity' | 'customer-must-start',
  ) {
    super(
      reason === 'customer-must-start' ? `${channel}: only the customer can start a conversation` : `${channel}: the customer has no identity on this channel`,
    );
  }
  override details() {
    return { channel: this.channel, reason: this.reason };
  }
}

/** The customer closed the conversation on their side (Apple Messages for Business); nothing more may be sent there. */
export class ChannelClosedError extends ParleyError {
  readonly code = 'CHANNEL_CLOSED';
  readonly category = 'failed_precondition' as const;
  constructor(readonly channel: Channel) {
    super(`${channel}: the customer closed this conversation`);
  }
  override details() {
    return { channel: this.channel };
  }
}

/** An attachment is larger than the channel carries. */
export class AttachmentTooLargeError extends ParleyError {
  readonly code = 'ATTACHMENT_TOO_LARGE';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly channel: Channel,
    readonly mimeType: string,
    readonly sizeBytes: number,
    readonly limitBytes: number,
  ) {
    super(`${channel} carries ${mimeType} up to ${limitBytes} bytes; this one has ${sizeBytes}`);
  }
  override details() {
    return { channel: this.channel, mimeType: this.mimeType, sizeBytes: this.sizeBytes, limitBytes: this.limitBytes };
  }
}

export class ConversationNotStartedError extends ParleyError {
  readonly code = 'CONVERSATION_NOT_STARTED';
  readonly category = 'failed_precondition' as const;
  constructor() {
    super('the conversation has not started: the customer writes first');
  }
}

export class MessageNotFoundError extends ParleyError {
  readonly code = 'MESSAGE_NOT_FOUND';
  readonly category = 'not_found' as const;
  constructor(readonly messageId: string) {
    super(`message ${messageId} not found`);
  }
  override details() {
    return { messageId: this.messageId };
  }
}

/** Editing or deleting a message someone else wrote, or one already deleted. */
export class MessageNotEditableError extends ParleyError {
  readonly code = 'MESSAGE_NOT_EDITABLE';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly messageId: string,
    readonly reason: 'not-author' | 'deleted',
  ) {
    super(`message ${messageId} cannot be changed: ${reason}`);
  }
  override details() {
    return { messageId: this.messageId, reason: this.reason };
  }
}

export class InvalidTransitionError extends ParleyError {
  readonly code = 'INVALID_TRANSITION';
  readonly category = 'failed_precondition' as const;
  constructor(
    readonly command: string,
    readonly status: string,
  ) {
    super(`${command} is not possible while the conversation is ${status}`);
  }
  override details() {
    return { command: this.command, status: this.status };
  }
}
