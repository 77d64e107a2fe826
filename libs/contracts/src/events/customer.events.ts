import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { contract } from './event-schema.registry';

/**
 * An identity of a customer on one channel. WhatsApp users are keyed on the
 * business-scoped user id Meta introduced in 2026, with the wa_id kept beside it
 * when present: a phone number alone never identifies a customer.
 */
export const Identity = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('visitor'), id: Id }),
  z.object({ kind: z.literal('external'), id: Id }),
  z.object({
    kind: z.literal('whatsapp'),
    id: Id,
    waId: z
      .string()
      .regex(/^\d{6,20}$/)
      .optional(),
  }),
  z.object({ kind: z.literal('messenger'), id: Id }),
  z.object({ kind: z.literal('apple'), id: Id }),
  z.object({ kind: z.literal('email'), id: z.email() }),
  /** A phone number reached by SMS, in E.164. */
  z.object({ kind: z.literal('sms'), id: z.string().regex(/^\+[1-9]\d{6,14}$/) }),
  /** An id on a channel plugged in over Kafka, as that integration names its users. */
  z.object({ kind: z.literal('custom'), id: Id }),
]);
export type Identity = z.infer<typeof Identity>;

export function identityKey(identity: Pick<Identity, 'kind' | 'id'>): string {
  return `${identity.kind}:${identity.kind === 'email' ? identity.id.toLowerCase() : identity.id}`;
}

/** How the identity was proven: a visitor id is anonymous; an external id needs the tenant's signature. */
export const Proof = z.enum(['anonymous', 'signed-hmac', 'signed-jwt', 'channel', 'brand-api']);

const MergedPart = z.object({
  identities: z.array(Identity),
  conversations: z.array(Id),
  attributes: z.record(z.string(), z.json()),
});

export const CustomerRegistered = contract('customer.registered', 1, z.object({ customerId: Id, at: Instant }));
export const IdentityLinked = contract('customer.identity-linked', 1, z.object({ identity: Identity, proof: Proof, at: Instant }), [
  'identity.id',
  'identity.waId',
]);
export const IdentityUnlinked = contract('customer.identity-unlinked', 1, z.object({ identityKey: z.string().min(1), at: Instant }), ['identityKey']);
export const AttributeSet = contract('customer.attribute-set', 1, z.object({ key: z.string().min(1).max(128), value: z.json(), at: Instant }), ['value']);
export const ConversationAttached = contract('customer.conversation-attached', 1, z.object({ conversationId: Id, at: Instant }));
/** On the customer that stays: what it took over from the other, kept apart so an unmerge gives back exactly that. */
export const CustomerMerged = contract('customer.merged', 1, z.object({ absorbedCustomerId: Id, taken: MergedPart, at: Instant }), [
  'taken.identities[].id',
  'taken.identities[].waId',
  'taken.attributes',
]);
export const CustomerMergedInto = contract('customer.merged-into', 1, z.object({ survivorCustomerId: Id, at: Instant }));
export const CustomerUnmerged = contract('customer.unmerged', 1, z.object({ absorbedCustomerId: Id, at: Instant }));
export const CustomerRestored = contract('customer.restored', 1, z.object({ formerSurvivorCustomerId: Id, at: Instant }));
export const CustomerErased = contract('customer.erased', 1, z.object({ at: Instant }));

export const CUSTOMER_EVENTS = [
  CustomerRegistered,
  IdentityLinked,
  IdentityUnlinked,
  AttributeSet,
  ConversationAttached,
  CustomerMerged,
  CustomerMergedInto,
  CustomerUnmerged,
  CustomerRestored,
  CustomerErased,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type CustomerEvent = DataOf<(typeof CUSTOMER_EVENTS)[number]>;
