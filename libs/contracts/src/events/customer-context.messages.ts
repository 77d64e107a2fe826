import { z } from 'zod';
import { Id, Instant } from './common.schemas';
import { OrderFields, ProfileFields } from './customer.events';
import { contract } from './event-schema.registry';

/**
 * What the brand's own systems (its shop, its CRM) tell Parley about their
 * customers over Kafka: the same changes as CustomerService's
 * UpdateCustomerProfile and RecordCustomerOrder. Messages at Parley's edge, in
 * clear on the topic (the brand writes them), sealed once in the log.
 * Key: `<tenantId>:<identity kind>:<identity id>`, so one customer's changes stay in order.
 */

/** The identities a brand's systems know a customer by: their own id, an e-mail address, a phone number (E.164). */
export const BrandIdentity = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('external'), id: Id }),
  z.object({ kind: z.literal('email'), id: z.email() }),
  z.object({ kind: z.literal('sms'), id: z.string().regex(/^\+[1-9]\d{6,14}$/) }),
]);

/** The customer's profile changed in the brand's systems: the fields given are set (an attribute set to null is removed), the others stay. */
export const CustomerProfileChanged = contract(
  'parley.customer.profile-changed',
  1,
  z.object({ tenantId: Id, identity: BrandIdentity, profile: ProfileFields, at: Instant }),
  ['identity.id', 'profile.name', 'profile.email', 'profile.attributes'],
);

/** An order was placed, or its status changed, in the brand's shop. The same order with the same status again changes nothing. */
export const CustomerOrderChanged = contract(
  'parley.customer.order-changed',
  1,
  z.object({ tenantId: Id, identity: BrandIdentity, order: OrderFields, at: Instant }),
  ['identity.id', 'order.items[].name', 'order.url'],
);

export const CUSTOMER_CONTEXT_MESSAGES = [CustomerProfileChanged, CustomerOrderChanged] as const;

/** Where the brand's systems publish customer context. */
export const CUSTOMER_CONTEXT_TOPICS = { context: 'parley.customer.context' } as const;
