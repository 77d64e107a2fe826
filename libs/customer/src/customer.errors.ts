import { ParleyError } from '@parley/errors';

export class CustomerNotRegisteredError extends ParleyError {
  readonly code = 'CUSTOMER_NOT_REGISTERED';
  readonly category = 'not_found' as const;
  constructor() {
    super('no such customer');
  }
}

/** A merged customer lives on in the survivor; changes go there until an unmerge. */
export class CustomerMergedError extends ParleyError {
  readonly code = 'CUSTOMER_MERGED';
  readonly category = 'failed_precondition' as const;
  constructor(readonly survivorCustomerId: string) {
    super(`this customer was merged into ${survivorCustomerId}`);
  }
  override details() {
    return { survivorCustomerId: this.survivorCustomerId };
  }
}

export class CustomerErasedError extends ParleyError {
  readonly code = 'CUSTOMER_ERASED';
  readonly category = 'failed_precondition' as const;
  constructor() {
    super('this customer was erased');
  }
}

/** The brand's own user id needs the tenant's signature (HMAC or JWT); an anonymous claim is not enough. */
export class UnverifiedIdentityError extends ParleyError {
  readonly code = 'UNVERIFIED_IDENTITY';
  readonly category = 'unauthenticated' as const;
  constructor(readonly kind: string) {
    super(`a ${kind} identity must be proven with the tenant's signature`);
  }
  override details() {
    return { kind: this.kind };
  }
}

export class MergeNotPossibleError extends ParleyError {
  readonly code = 'MERGE_NOT_POSSIBLE';
  readonly category = 'failed_precondition' as const;
  constructor(readonly reason: 'same-customer' | 'already-merged' | 'not-merged' | 'has-merged-customers') {
    super(`merge or unmerge not possible: ${reason}`);
  }
  override details() {
    return { reason: this.reason };
  }
}
