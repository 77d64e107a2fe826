import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { fold } from '@parley/decider';
import { specFor } from '@parley/decider/testing';
import { identityKey, type CustomerEvent, type Identity } from '@parley/contracts';
import { customerDecider, planMerge, planUnmerge, view, type CustomerCommand } from './index';
import { InvalidArgumentError } from '@parley/errors';
import { CustomerErasedError, CustomerMergedError, CustomerNotRegisteredError, MergeNotPossibleError, UnverifiedIdentityError } from './customer.errors';

const spec = specFor(customerDecider);
const at = '2026-05-01T12:00:00.000Z';
const registered = (id: string): CustomerEvent => ({ type: 'customer.registered', data: { customerId: id, at } });
const linked = (identity: Identity, proof: 'anonymous' | 'signed-jwt' | 'channel' = 'channel'): CustomerEvent => ({
  type: 'customer.identity-linked',
  data: { identity, proof, at },
});
const visitor: Identity = { kind: 'visitor', id: 'v-123' };
const whatsapp: Identity = { kind: 'whatsapp', id: 'US.13491208655302741918', waId: '16505551234' };

describe('customer: identities', () => {
  it('links an identity once', () => {
    spec
      .given([registered('c1')])
      .when({ type: 'LinkIdentity', identity: visitor, proof: 'anonymous', at })
      .then([linked(visitor, 'anonymous')]);
    spec
      .given([registered('c1'), linked(visitor, 'anonymous')])
      .when({ type: 'LinkIdentity', identity: visitor, proof: 'anonymous', at })
      .thenNothing();
  });
  it('keys WhatsApp users on the business-scoped user id, not the phone number', () => {
    assert.equal(identityKey(whatsapp), 'whatsapp:US.13491208655302741918');
    const samePhoneOtherUser: Identity = { kind: 'whatsapp', id: 'US.99999', waId: '16505551234' };
    spec
      .given([registered('c1'), linked(whatsapp)])
      .when({ type: 'LinkIdentity', identity: samePhoneOtherUser, proof: 'channel', at })
      .then([linked(samePhoneOtherUser)]);
  });
  it("refuses the brand's user id without the tenant's signature", () => {
    spec
      .given([registered('c1')])
      .when({ type: 'LinkIdentity', identity: { kind: 'external', id: 'user-42' }, proof: 'anonymous', at })
      .thenThrows(UnverifiedIdentityError, { kind: 'external' });
    spec
      .given([registered('c1')])
      .when({ type: 'LinkIdentity', identity: { kind: 'external', id: 'user-42' }, proof: 'signed-jwt', at })
      .then([linked({ kind: 'external', id: 'user-42' }, 'signed-jwt')]);
  });
  it('unlinks a linked identity, and ignores an unknown one', () => {
    spec
      .given([registered('c1'), linked(visitor)])
      .when({ type: 'UnlinkIdentity', identityKey: 'visitor:v-123', at })
      .then([{ type: 'customer.identity-unlinked', data: { identityKey: 'visitor:v-123', at } }]);
    spec
      .given([registered('c1')])
      .when({ type: 'UnlinkIdentity', identityKey: 'visitor:v-123', at })
      .thenNothing();
  });
  it("keeps attributes to a profile's size: 4 KiB of JSON a value, 128-character keys, 100 attributes", () => {
    const set = (key: string, value: unknown) => ({ type: 'SetAttribute' as const, key, value, at });
    const attributeSet = (key: string, value: unknown): CustomerEvent => ({ type: 'customer.attribute-set', data: { key, value: value as never, at } });
    spec
      .given([registered('c1')])
      .when(set('notes', 'n'.repeat(4094)))
      .then([attributeSet('notes', 'n'.repeat(4094))]);
    spec
      .given([registered('c1')])
      .when(set('notes', 'n'.repeat(4095)))
      .thenThrows(InvalidArgumentError);
    spec
      .given([registered('c1')])
      .when(set('notes', 'é'.repeat(2048)))
      .thenThrows(InvalidArgumentError);
    spec
      .given([registered('c1')])
      .when(set('k'.repeat(129), 1))
      .thenThrows(InvalidArgumentError);
    const hundred = [registered('c1'), ...Array.from({ length: 100 }, (_, i) => attributeSet(`a${i}`, i))];
    spec.given(hundred).when(set('one-more', 1)).thenThrows(InvalidArgumentError);
    spec
      .given(hundred)
      .when(set('a7', 'changed'))
      .then([attributeSet('a7', 'changed')]);
  });
  it('needs a registered, active customer', () => {
    spec.given([]).when({ type: 'SetAttribute', key: 'name', value: 'Ada', at }).thenThrows(CustomerNotRegisteredError);
    spec
      .given([registered('c1'), { type: 'customer.merged-into', data: { survivorCustomerId: 'c0', at } }])
      .when({ type: 'SetAttribute', key: 'name', value: 'Ada', at })
      .thenThrows(CustomerMergedError, { survivorCustomerId: 'c0' });
    spec
      .given([registered('c1'), { type: 'customer.erased', data: { at } }])
      .when({ type: 'SetAttribute', key: 'name', value: 'Ada', at })
      .thenThrows(CustomerErasedError);
  });
  it('sets attributes as events, only when they change', () => {
    spec
      .given([registered('c1')])
      .when({ type: 'SetAttribute', key: 'orders', value: [{ id: 1, total: 9.5 }], at })
      .then([{ type: 'customer.attribute-set', data: { key: 'orders', value: [{ id: 1, total: 9.5 }], at } }]);
    spec
      .given([registered('c1'), { type: 'customer.attribute-set', data: { key: 'tier', value: 'gold', at } }])
      .when({ type: 'SetAttribute', key: 'tier', value: 'gold', at })
      .thenNothing();
  });
});

describe('customer: merge and unmerge', () => {
  const survivor = fold(customerDecider, [
    registered('s'),
    linked({ kind: 'external', id: 'u1' }, 'signed-jwt'),
    { type: 'customer.attribute-set', data: { key: 'name', value: 'Ada', at } },
  ]);
  const absorbed = fold(customerDecider, [
    registered('a'),
    linked(whatsapp),
    { type: 'customer.conversation-attached', data: { conversationId: 'conv-wa', at } },
    { type: 'customer.attribute-set', data: { key: 'name', value: 'A.', at } },
    { type: 'customer.attribute-set', data: { key: 'city', value: 'Lyon', at } },
  ]);

  it('the survivor shows both customers, its own attributes first', () => {
    const plan = planMerge(survivor, absorbed, at);
    const merged = fold(customerDecider, plan.survivor, survivor);
    assert.deepEqual(view(merged).identities.map(identityKey), ['external:u1', 'whatsapp:US.13491208655302741918']);
    assert.deepEqual(view(merged).conversations, ['conv-wa']);
    assert.deepEqual(view(merged).attributes, { name: 'Ada', city: 'Lyon' });
    assert.deepEqual(fold(customerDecider, plan.absorbed, absorbed).mergedInto, 's');
  });
  it('refuses to merge a customer with itself, twice, or one that is merged', () => {
    assert.throws(() => planMerge(survivor, survivor, at), MergeNotPossibleError);
    const plan = planMerge(survivor, absorbed, at);
    const s2 = fold(customerDecider, plan.survivor, survivor);
    const a2 = fold(customerDecider, plan.absorbed, absorbed);
    assert.throws(() => planMerge(s2, a2, at), CustomerMergedError);
    assert.throws(() => planUnmerge(survivor, absorbed, at), MergeNotPossibleError);
  });
});

/** Customers with random identities, conversations and attributes, built through decide. */
const customerHistory = (id: string): fc.Arbitrary<CustomerEvent[]> =>
  fc
    .array(
      fc.oneof(
        fc
          .record(
            { kind: fc.constantFrom('visitor' as const, 'messenger' as const, 'apple' as const), id: fc.string({ minLength: 1, maxLength: 6 }) },
            { noNullPrototype: true },
          )
          .map((identity): CustomerCommand => ({ type: 'LinkIdentity', identity, proof: 'channel', at })),
        fc.string({ minLength: 1, maxLength: 4 }).map((k): CustomerCommand => ({ type: 'UnlinkIdentity', identityKey: `visitor:${k}`, at })),
        // Values as the log stores them: through JSON (no -0, plain prototypes).
        fc
          .tuple(fc.constantFrom('name', 'tier', 'city', 'orders'), fc.jsonValue())
          .map(([key, value]): CustomerCommand => ({ type: 'SetAttribute', key, value: JSON.parse(JSON.stringify(value)), at })),
        fc.string({ minLength: 1, maxLength: 6 }).map((c): CustomerCommand => ({ type: 'AttachConversation', conversationId: `${id}-${c}`, at })),
      ),
      { maxLength: 25 },
    )
    .map((commands) => {
      let state = fold(customerDecider, [registered(id)]);
      const events: CustomerEvent[] = [registered(id)];
      for (const c of commands) {
        const produced = customerDecider.decide(c, state);
        events.push(...produced);
        state = fold(customerDecider, produced, state);
      }
      return events;
    });

describe('customer properties (fast-check)', () => {
  it('a merge followed by an unmerge restores both customers exactly', () => {
    fc.assert(
      fc.property(customerHistory('s'), customerHistory('a'), (sEvents, aEvents) => {
        const s0 = fold(customerDecider, sEvents);
        const a0 = fold(customerDecider, aEvents);
        const merge = planMerge(s0, a0, at);
        const s1 = fold(customerDecider, merge.survivor, s0);
        const a1 = fold(customerDecider, merge.absorbed, a0);
        assert.deepEqual(new Set(view(s1).identities.map(identityKey)), new Set([...view(s0).identities, ...view(a0).identities].map(identityKey)));
        const unmerge = planUnmerge(s1, a1, at);
        assert.deepEqual(fold(customerDecider, unmerge.survivor, s1), s0);
        assert.deepEqual(fold(customerDecider, unmerge.absorbed, a1), a0);
      }),
      { numRuns: 300 },
    );
  });

  it('evolve is deterministic and snapshots (JSON) plus the tail give the same state', () => {
    fc.assert(
      fc.property(
        customerHistory('c').chain((e) => fc.tuple(fc.constant(e), fc.nat(e.length))),
        ([events, cut]) => {
          const snapshot = JSON.parse(JSON.stringify(fold(customerDecider, events.slice(0, cut))));
          assert.deepEqual(fold(customerDecider, events.slice(cut), snapshot), fold(customerDecider, events));
        },
      ),
      { numRuns: 300 },
    );
  });
});
