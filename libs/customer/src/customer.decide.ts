import { PROFILE_LIMITS, identityKey, type CustomerEvent, type Identity, type OrderFields, type ProfileFields } from '@parley/contracts';
import { InvalidArgumentError } from '@parley/errors';
import { CustomerErasedError, CustomerMergedError, CustomerNotRegisteredError, MergeNotPossibleError, UnverifiedIdentityError } from './customer.errors';
import { applyProfile, hasIdentity, view, type CustomerState } from './customer.state';

export type CustomerCommand =
  | { type: 'Register'; customerId: string; at: string }
  | { type: 'LinkIdentity'; identity: Identity; proof: 'anonymous' | 'signed-hmac' | 'signed-jwt' | 'channel' | 'brand-api'; at: string }
  | { type: 'UnlinkIdentity'; identityKey: string; at: string }
  | { type: 'SetAttribute'; key: string; value: unknown; at: string }
  | { type: 'AttachConversation'; conversationId: string; at: string }
  | { type: 'Erase'; at: string }
  /** From the brand's systems: the fields given replace the profile's; an attribute given null is removed. */
  | { type: 'UpdateProfile'; profile: ProfileFields; source: 'api' | 'kafka'; at: string }
  /** From the brand's systems: idempotent by order id and status. */
  | { type: 'RecordOrder'; order: OrderFields; source: 'api' | 'kafka'; at: string };

/** What a customer's free-form attributes may hold: a profile, not a document store. */
export const ATTRIBUTE_LIMITS = { count: 100, keyLength: 128, valueBytes: 4096 } as const;

function assertAttributeFits(state: CustomerState, key: string, value: unknown): void {
  const field = `attributes.${key.slice(0, 64)}`;
  if (key.length === 0 || key.length > ATTRIBUTE_LIMITS.keyLength)
    throw new InvalidArgumentError('invalid attribute', [{ field: 'attributes', description: `keys of 1 to ${ATTRIBUTE_LIMITS.keyLength} characters` }]);
  const bytes = new TextEncoder().encode(JSON.stringify(value) ?? '').length;
  if (bytes > ATTRIBUTE_LIMITS.valueBytes)
    throw new InvalidArgumentError('invalid attribute', [
      { field, description: `at most ${ATTRIBUTE_LIMITS.valueBytes} bytes as JSON; this value has ${bytes}` },
    ]);
  if (!(key in state.own.attributes) && Object.keys(state.own.attributes).length >= ATTRIBUTE_LIMITS.count)
    throw new InvalidArgumentError('invalid attribute', [{ field, description: `at most ${ATTRIBUTE_LIMITS.count} attributes per customer` }]);
}

function requireActive(state: CustomerState): void {
  if (state.customerId === null) throw new CustomerNotRegisteredError();
  if (state.erased) throw new CustomerErasedError();
  if (state.mergedInto !== null) throw new CustomerMergedError(state.mergedInto);
}

export function decide(command: CustomerCommand, state: CustomerState): CustomerEvent[] {
  if (command.type === 'Register')
    return state.customerId === null ? [{ type: 'customer.registered', data: { customerId: command.customerId, at: command.at } }] : [];
  requireActive(state);
  switch (command.type) {
    case 'LinkIdentity': {
      const verified = command.proof === 'signed-hmac' || command.proof === 'signed-jwt' || command.proof === 'brand-api';
      if (command.identity.kind === 'external' && !verified) throw new UnverifiedIdentityError('external');
      if (hasIdentity(state, identityKey(command.identity))) return [];
      return [{ type: 'customer.identity-linked', data: { identity: command.identity, proof: command.proof, at: command.at } }];
    }
    case 'UnlinkIdentity':
      return hasIdentity(state, command.identityKey)
        ? [{ type: 'customer.identity-unlinked', data: { identityKey: command.identityKey, at: command.at } }]
        : [];
    case 'SetAttribute':
      assertAttributeFits(state, command.key, command.value);
      return JSON.stringify(state.own.attributes[command.key]) === JSON.stringify(command.value)
        ? []
        : [{ type: 'customer.attribute-set', data: { key: command.key, value: command.value as never, at: command.at } }];
    case 'AttachConversation':
      return view(state).conversations.includes(command.conversationId)
        ? []
        : [{ type: 'customer.conversation-attached', data: { conversationId: command.conversationId, at: command.at } }];
    case 'Erase':
      return [{ type: 'customer.erased', data: { at: command.at } }];
    case 'UpdateProfile': {
      const changed = profileChanges(state, command.profile);
      return changed ? [{ type: 'customer.profile-updated', data: { ...changed, source: command.source, at: command.at } }] : [];
    }
    case 'RecordOrder':
      return state.orders[command.order.orderId] === command.order.status
        ? []
        : [{ type: 'customer.order-recorded', data: { ...command.order, source: command.source, at: command.at } }];
  }
}

/** Only what the update changes; null when it changes nothing. Refuses a profile past its attribute limit. */
function profileChanges(state: CustomerState, update: ProfileFields): ProfileFields | null {
  const { profile } = state;
  const changed: { -readonly [K in keyof ProfileFields]: ProfileFields[K] } = {};
  for (const field of ['name', 'email', 'locale', 'tier'] as const)
    if (update[field] !== undefined && update[field] !== profile[field]) changed[field] = update[field];
  const attributes: Record<string, string | number | boolean | null> = {};
  for (const [key, value] of Object.entries(update.attributes ?? {})) {
    const now = profile.attributes[key];
    if (value === null ? now !== undefined : now !== value) attributes[key] = value;
  }
  if (Object.keys(attributes).length > 0) changed.attributes = attributes;
  if (Object.keys(changed).length === 0) return null;
  const after = Object.keys(applyProfile(profile, changed).attributes).length;
  if (after > PROFILE_LIMITS.attributes)
    throw new InvalidArgumentError('invalid profile', [
      { field: 'profile.attributes', description: `at most ${PROFILE_LIMITS.attributes} attributes per customer; this update would make ${after}` },
    ]);
  return changed;
}

/**
 * Merging spans two streams: the survivor takes the absorbed customer's part,
 * the absorbed one points to the survivor. Both event lists are decided here,
 * from both states, and appended by the caller (absorbed first, with its
 * expected version, so a concurrent change to it aborts the merge).
 */
export function planMerge(survivor: CustomerState, absorbed: CustomerState, at: string): { survivor: CustomerEvent[]; absorbed: CustomerEvent[] } {
  requireActive(survivor);
  requireActive(absorbed);
  if (survivor.customerId === absorbed.customerId) throw new MergeNotPossibleError('same-customer');
  if (Object.keys(absorbed.merged).length > 0) throw new MergeNotPossibleError('has-merged-customers');
  if (survivor.merged[absorbed.customerId!]) throw new MergeNotPossibleError('already-merged');
  return {
    survivor: [
      {
        type: 'customer.merged',
        data: {
          absorbedCustomerId: absorbed.customerId!,
          taken: {
            ...absorbed.own,
            identities: [...absorbed.own.identities],
            conversations: [...absorbed.own.conversations],
            attributes: { ...absorbed.own.attributes } as never,
          },
          at,
        },
      },
    ],
    absorbed: [{ type: 'customer.merged-into', data: { survivorCustomerId: survivor.customerId!, at } }],
  };
}

export function planUnmerge(survivor: CustomerState, absorbed: CustomerState, at: string): { survivor: CustomerEvent[]; absorbed: CustomerEvent[] } {
  if (absorbed.mergedInto !== survivor.customerId || !survivor.merged[absorbed.customerId ?? '']) throw new MergeNotPossibleError('not-merged');
  return {
    survivor: [{ type: 'customer.unmerged', data: { absorbedCustomerId: absorbed.customerId!, at } }],
    absorbed: [{ type: 'customer.restored', data: { formerSurvivorCustomerId: survivor.customerId!, at } }],
  };
}
