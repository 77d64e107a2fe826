import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * The claim on one identity (a WhatsApp user, an e-mail address...). Its stream
 * is named by a keyed hash of the identity, never by the identity itself, and
 * the first append to it wins: that is how two customers can never hold the same
 * identity, on stores without transactions.
 */
export const IdentityClaimed = contract('identity.claimed', 1, z.object({ customerId: Id, at: Instant }));
export const IdentityReleased = contract('identity.released', 1, z.object({ customerId: Id, at: Instant }));

export const IDENTITY_EVENTS = [IdentityClaimed, IdentityReleased] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type IdentityClaimEvent = DataOf<(typeof IDENTITY_EVENTS)[number]>;
