import { ParleyError } from '@parley/errors';

export class OfferNotFoundError extends ParleyError {
  readonly code = 'OFFER_NOT_FOUND';
  readonly category = 'failed_precondition' as const;
  constructor(readonly offerId: string) {
    super(`offer ${offerId} is not open for this agent (taken, declined or expired)`);
  }
  override details() {
    return { offerId: this.offerId };
  }
}

export class AgentAtCapacityError extends ParleyError {
  readonly code = 'AGENT_AT_CAPACITY';
  readonly category = 'failed_precondition' as const;
  constructor(readonly agentId: string) {
    super(`agent ${agentId} has no capacity left for this kind of work`);
  }
  override details() {
    return { agentId: this.agentId };
  }
}

export class NotInQueueError extends ParleyError {
  readonly code = 'NOT_IN_QUEUE';
  readonly category = 'failed_precondition' as const;
  constructor(readonly conversationId: string) {
    super(`conversation ${conversationId} is not waiting or owned in this queue`);
  }
  override details() {
    return { conversationId: this.conversationId };
  }
}
