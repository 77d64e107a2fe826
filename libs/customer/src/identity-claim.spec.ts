import { describe, it } from '@jest/globals';
import { specFor } from '@parley/decider/testing';
import type { IdentityClaimEvent } from '@parley/contracts';
import { IdentityTakenError, identityClaimDecider } from './identity-claim';

const spec = specFor(identityClaimDecider);
const at = '2026-05-01T12:00:00.000Z';
const claimed = (customerId: string): IdentityClaimEvent => ({ type: 'identity.claimed', data: { customerId, at } });
const released = (customerId: string): IdentityClaimEvent => ({ type: 'identity.released', data: { customerId, at } });

describe('identity claim: one identity, one customer', () => {
  it('the first claim wins, and claiming again is a no-op', () => {
    spec
      .given([])
      .when({ type: 'Claim', customerId: 'c1', at })
      .then([claimed('c1')]);
    spec
      .given([claimed('c1')])
      .when({ type: 'Claim', customerId: 'c1', at })
      .thenNothing();
  });
  it('another customer is refused while the owner holds it', () => {
    spec
      .given([claimed('c1')])
      .when({ type: 'Claim', customerId: 'c2', at })
      .thenThrows(IdentityTakenError, { ownerCustomerId: 'c1' });
  });
  it('a stale claim is taken over only from the owner that was checked', () => {
    spec
      .given([claimed('c1')])
      .when({ type: 'Claim', customerId: 'c2', staleOwner: 'c1', at })
      .then([claimed('c2')]);
    spec
      .given([claimed('c3')])
      .when({ type: 'Claim', customerId: 'c2', staleOwner: 'c1', at })
      .thenThrows(IdentityTakenError, { ownerCustomerId: 'c3' });
  });
  it('the owner releases it, and then anyone may claim it', () => {
    spec
      .given([claimed('c1')])
      .when({ type: 'Release', customerId: 'c1', at })
      .then([released('c1')]);
    spec
      .given([claimed('c1'), released('c1')])
      .when({ type: 'Claim', customerId: 'c2', at })
      .then([claimed('c2')]);
  });
  it('only the owner releases', () => {
    spec
      .given([claimed('c1')])
      .when({ type: 'Release', customerId: 'c2', at })
      .thenNothing();
    spec.given([]).when({ type: 'Release', customerId: 'c2', at }).thenNothing();
  });
});
