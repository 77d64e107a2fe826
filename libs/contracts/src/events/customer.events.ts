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

/** Where context from the brand's systems came from: its gRPC call, or its Kafka topic. */
export const ContextSource = z.enum(['api', 'kafka']);

/** A custom attribute from the brand's systems: a snake_case key, a scalar value (null removes it). */
export const ProfileAttributeKey = z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'snake_case, 1 to 64 characters, starting with a letter');
export const ProfileAttributeValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null()]);
export const PROFILE_LIMITS = { attributes: 50 } as const;

/** The profile fields as the brand's systems send them: each optional, only what changed is recorded. */
export const ProfileFields = z.object({
  name: z.string().trim().min(1).max(200).optional(),
  email: z.email().max(254).optional(),
  /** BCP 47, e.g. `de-AT`. */
  locale: z
    .string()
    .regex(/^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a BCP 47 language tag, e.g. de-AT')
    .max(35)
    .optional(),
  tier: z.string().trim().min(1).max(64).optional(),
  attributes: z
    .record(ProfileAttributeKey, ProfileAttributeValue)
    .refine((a) => Object.keys(a).length <= PROFILE_LIMITS.attributes, `at most ${PROFILE_LIMITS.attributes} attributes`)
    .optional(),
});
export type ProfileFields = z.infer<typeof ProfileFields>;

/** The brand's systems changed the customer's profile: only the fields that changed (an attribute set to null is removed). */
export const ProfileUpdated = contract('customer.profile-updated', 1, ProfileFields.extend({ source: ContextSource, at: Instant }), [
  'name',
  'email',
  'attributes',
]);

export const OrderStatus = z.enum(['placed', 'paid', 'fulfilled', 'shipped', 'delivered', 'cancelled', 'refunded', 'returned']);
/** Money in the currency's minor unit (cents), as payment systems keep it: no rounding on the way. */
export const Money = z.object({ amountMinor: z.number().int().min(0).max(1e13), currency: z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code, e.g. EUR') });
export const OrderItem = z.object({
  sku: z.string().min(1).max(64).optional(),
  name: z.string().trim().min(1).max(200),
  quantity: z.number().int().min(1).max(100_000),
  unitPrice: Money.optional(),
});
export const OrderFields = z.object({
  /** The brand's own order id: recording the same order with the same status again changes nothing. */
  orderId: z.string().min(1).max(128),
  placedAt: Instant,
  status: OrderStatus,
  items: z.array(OrderItem).max(100),
  total: Money,
  /** Where the agent opens the order in the brand's back office. */
  url: z
    .url({ protocol: /^https?$/ })
    .max(2048)
    .optional(),
});
export type OrderFields = z.infer<typeof OrderFields>;

/** An order of the customer's, or a new status of one: one event each time its status changes. */
export const OrderRecorded = contract('customer.order-recorded', 1, OrderFields.extend({ source: ContextSource, at: Instant }), ['items[].name', 'url']);

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
  ProfileUpdated,
  OrderRecorded,
] as const;

type DataOf<C> = C extends { type: infer T; schema: infer S extends z.ZodType } ? { type: T; data: z.output<S> } : never;
export type CustomerEvent = DataOf<(typeof CUSTOMER_EVENTS)[number]>;
