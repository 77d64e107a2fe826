import { identityKey, type CustomerEvent, type Identity } from '@parley/contracts';

export interface CustomerPart {
  readonly identities: readonly Identity[];
  readonly conversations: readonly string[];
  readonly attributes: Readonly<Record<string, unknown>>;
}

/**
 * A customer's own identities, conversations and attributes, and beside them
 * what each merged customer brought, kept apart: an unmerge removes exactly
 * that part. `view` flattens both for readers.
 */
export interface CustomerState {
  readonly customerId: string | null;
  readonly own: CustomerPart;
  readonly merged: Readonly<Record<string, CustomerPart>>;
  readonly mergedInto: string | null;
  readonly erased: boolean;
}

const EMPTY: CustomerPart = { identities: [], conversations: [], attributes: {} };

export function initialState(): CustomerState {
  return { customerId: null, own: EMPTY, merged: {}, mergedInto: null, erased: false };
}

const withoutIdentity = (part: CustomerPart, key: string): CustomerPart => ({ ...part, identities: part.identities.filter((i) => identityKey(i) !== key) });

export function evolve(state: CustomerState, event: CustomerEvent): CustomerState {
  switch (event.type) {
    case 'customer.registered':
      return { ...state, customerId: event.data.customerId };
    case 'customer.identity-linked':
      return { ...state, own: { ...state.own, identities: [...state.own.identities, event.data.identity] } };
    case 'customer.identity-unlinked': {
      const merged: Record<string, CustomerPart> = {};
      for (const [id, part] of Object.entries(state.merged)) merged[id] = withoutIdentity(part, event.data.identityKey);
      return { ...state, own: withoutIdentity(state.own, event.data.identityKey), merged };
    }
    case 'customer.attribute-set':
      return { ...state, own: { ...state.own, attributes: { ...state.own.attributes, [event.data.key]: event.data.value } } };
    case 'customer.conversation-attached':
      return { ...state, own: { ...state.own, conversations: [...state.own.conversations, event.data.conversationId] } };
    case 'customer.merged':
      return { ...state, merged: { ...state.merged, [event.data.absorbedCustomerId]: event.data.taken } };
    case 'customer.unmerged': {
      const { [event.data.absorbedCustomerId]: _gone, ...rest } = state.merged;
      return { ...state, merged: rest };
    }
    case 'customer.merged-into':
      return { ...state, mergedInto: event.data.survivorCustomerId };
    case 'customer.restored':
      return { ...state, mergedInto: null };
    case 'customer.erased':
      return { ...initialState(), customerId: state.customerId, erased: true };
  }
}

/** The customer as agents see it: own data first, then each merged customer's. */
export function view(state: CustomerState): CustomerPart {
  const parts = [state.own, ...Object.values(state.merged)];
  const attributes: Record<string, unknown> = {};
  // Later parts never override the customer's own attributes.
  for (const part of [...parts].reverse()) Object.assign(attributes, part.attributes);
  return { identities: parts.flatMap((p) => p.identities), conversations: parts.flatMap((p) => p.conversations), attributes };
}

export function hasIdentity(state: CustomerState, key: string): boolean {
  return view(state).identities.some((i) => identityKey(i) === key);
}
export const CUSTOMER_SNAPSHOT_SCHEMA_VERSION = 1;
