import { CONVERSATION_EVENTS } from './conversation.events';
import { CUSTOMER_EVENTS } from './customer.events';
import { IDENTITY_EVENTS } from './identity.events';
import type { EventContract } from './event-schema.registry';

/** Every event type Parley writes, by type, at its current version. */
export const EVENT_CONTRACTS: ReadonlyMap<string, EventContract> = new Map([...CONVERSATION_EVENTS, ...CUSTOMER_EVENTS, ...IDENTITY_EVENTS].map((c) => [c.type, c as EventContract]));

/** The personal fields of an event type: encrypted at rest, erased with the customer. */
export function personalFieldsOf(type: string): readonly string[] {
  return EVENT_CONTRACTS.get(type)?.personal ?? [];
}
