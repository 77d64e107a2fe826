import { z } from 'zod';
import { CHANNEL_MESSAGES } from './channel.messages';
import { INGRESS_MESSAGES } from './ingress.messages';
import { CUSTOMER_CONTEXT_MESSAGES } from './customer-context.messages';
import { CONVERSATION_EVENTS } from './conversation.events';
import { CUSTOMER_EVENTS } from './customer.events';
import { IDENTITY_EVENTS } from './identity.events';
import { AVAILABILITY_EVENTS } from './availability.events';
import { ROUTING_EVENTS } from './routing.events';
import { LEASE_EVENTS } from './lease.events';
import { WORKSPACE_EVENTS } from './workspace.events';
import type { EventContract } from './event-schema.registry';

/** Every event type Parley writes, by type, at its current version. */
export const EVENT_CONTRACTS: ReadonlyMap<string, EventContract> = new Map(
  [...CONVERSATION_EVENTS, ...CUSTOMER_EVENTS, ...IDENTITY_EVENTS, ...AVAILABILITY_EVENTS, ...ROUTING_EVENTS, ...WORKSPACE_EVENTS].map((c) => [
    c.type,
    c as EventContract,
  ]),
);

/**
 * Event types of the log's own streams (`parley-…`: leases), versioned like the
 * others but never published: not on any topic, not in the AsyncAPI document.
 */
export const INTERNAL_EVENT_CONTRACTS: ReadonlyMap<string, EventContract> = new Map(LEASE_EVENTS.map((c) => [c.type, c as EventContract]));

/** The personal fields of an event type: encrypted at rest, erased with the customer. */
export function personalFieldsOf(type: string): readonly string[] {
  return EVENT_CONTRACTS.get(type)?.personal ?? [];
}

/** Every versioned message schema, as JSON Schema (draft 2020-12), by `<type>.v<version>`: for integrators in other languages. */
export function jsonSchemas(): Record<string, unknown> {
  const all = [...EVENT_CONTRACTS.values(), ...INTERNAL_EVENT_CONTRACTS.values(), ...CHANNEL_MESSAGES, ...INGRESS_MESSAGES, ...CUSTOMER_CONTEXT_MESSAGES];
  return Object.fromEntries(
    all.map((c) => [
      `${c.type}.v${c.version}`,
      {
        $id: `https://parley.dev/schemas/${c.type}.v${c.version}.json`,
        title: `${c.type} (version ${c.version})`,
        ...z.toJSONSchema(c.schema, { io: 'input', unrepresentable: 'any' }),
      },
    ]),
  );
}
