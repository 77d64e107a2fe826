import type { IdentityClaimEvent } from '@parley/contracts';
import type { Decider } from '@parley/decider';
import { ParleyError } from '@parley/errors';

export type IdentityClaimCommand =
  /**
   * `staleOwner`: the caller checked that this customer, though it still holds
   * the claim, no longer has the identity (a link that crashed half-way, or an
   * erased customer): the claim may be taken over from exactly that owner.
   */
  { type: 'Claim'; customerId: string; staleOwner?: string; at: string } | { type: 'Release'; customerId: string; at: string };

export interface IdentityClaimState {
  readonly owner: string | null;
  /** When the owner claimed it: a young claim may still be in the middle of its link. */
  readonly claimedAt: string | null;
}

/** The identity belongs to another customer: merge the two instead. */
export class IdentityTakenError extends ParleyError {
  readonly code = 'IDENTITY_TAKEN';
  readonly category = 'failed_precondition' as const;
  constructor(readonly ownerCustomerId: string) {
    super('this identity belongs to another customer; merge the customers instead');
  }
  override details() {
    return { ownerCustomerId: this.ownerCustomerId };
  }
}

export function decideClaim(command: IdentityClaimCommand, state: IdentityClaimState): IdentityClaimEvent[] {
  switch (command.type) {
    case 'Claim':
      if (state.owner === command.customerId) return [];
      if (state.owner !== null && state.owner !== command.staleOwner) throw new IdentityTakenError(state.owner);
      return [{ type: 'identity.claimed', data: { customerId: command.customerId, at: command.at } }];
    case 'Release':
      return state.owner === command.customerId ? [{ type: 'identity.released', data: { customerId: command.customerId, at: command.at } }] : [];
  }
}

export function evolveClaim(state: IdentityClaimState, event: IdentityClaimEvent): IdentityClaimState {
  switch (event.type) {
    case 'identity.claimed':
      return { owner: event.data.customerId, claimedAt: event.data.at };
    case 'identity.released':
      return state.owner === event.data.customerId ? { owner: null, claimedAt: null } : state;
  }
}

export const IDENTITY_CLAIM_SNAPSHOT_SCHEMA_VERSION = 2;

export const identityClaimDecider: Decider<IdentityClaimCommand, IdentityClaimEvent, IdentityClaimState> = {
  decide: decideClaim,
  evolve: evolveClaim,
  initialState: () => ({ owner: null, claimedAt: null }),
};
