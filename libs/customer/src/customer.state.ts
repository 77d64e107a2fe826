import { identityKey, type CustomerEvent, type Identity, type OrderFields, type ProfileFields } from '@parley/contracts';

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
  /** What the brand's systems say of the customer (name, e-mail, locale, tier, typed attributes). */
  readonly profile: CustomerProfile;
  /**
   * Each order's last recorded status, of the orders recorded since the last
   * snapshot; the others are stored beside the snapshots and looked up when a
   * command names them (customerFacts): a customer of many years has many orders.
   */
  readonly orders: Readonly<Record<string, OrderStatus>>;
}

export type OrderStatus = OrderFields['status'];

export interface CustomerProfile {
  readonly name?: string;
  readonly email?: string;
  readonly locale?: string;
  readonly tier?: string;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

const EMPTY: CustomerPart = { identities: [], conversations: [], attributes: {} };

export function initialState(): CustomerState {
  return { customerId: null, own: EMPTY, merged: {}, mergedInto: null, erased: false, profile: { attributes: {} }, orders: {} };
}

/** The profile with an update applied: fields replaced, attributes set, an attribute set to null removed. */
export function applyProfile(profile: CustomerProfile, update: ProfileFields): CustomerProfile {
  const { attributes, ...fields } = update;
  const next: Record<string, string | number | boolean> = { ...profile.attributes };
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return { ...profile, ...fields, attributes: next };
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
    case 'customer.profile-updated': {
      const { source: _source, at: _at, ...update } = event.data;
      return { ...state, profile: applyProfile(state.profile, update) };
    }
    case 'customer.order-recorded':
      return { ...state, orders: { ...state.orders, [event.data.orderId]: event.data.status } };
  }
}

const ORDER_FACT = 'order:';
export const orderFactKey = (orderId: string) => `${ORDER_FACT}${orderId}`;

/** The orders the state gathered, to store beside a snapshot, and the state without them. */
export function takeOrderFacts(state: CustomerState): { state: CustomerState; facts: { key: string; value: unknown }[] } {
  return { state: { ...state, orders: {} }, facts: Object.entries(state.orders).map(([id, status]) => ({ key: orderFactKey(id), value: status })) };
}

/** The state with stored order statuses joined in: the latest stored, unless the state has a newer one. */
export function withOrderFacts(state: CustomerState, found: ReadonlyMap<string, readonly unknown[]>): CustomerState {
  if (found.size === 0) return state;
  const orders: Record<string, OrderStatus> = {};
  for (const [key, values] of found) if (key.startsWith(ORDER_FACT) && values.length > 0) orders[key.slice(ORDER_FACT.length)] = values.at(-1) as OrderStatus;
  return { ...state, orders: { ...orders, ...state.orders } };
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
/** Bumped with the state's shape: profile and orders (2). */
export const CUSTOMER_SNAPSHOT_SCHEMA_VERSION = 2;
