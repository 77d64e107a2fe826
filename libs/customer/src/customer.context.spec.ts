import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { fold } from '@parley/decider';
import { specFor } from '@parley/decider/testing';
import { OrderRecorded, ProfileUpdated, type CustomerEvent, type OrderFields } from '@parley/contracts';
import { InvalidArgumentError } from '@parley/errors';
import { customerDecider, customerFacts } from './index';
import { CustomerErasedError } from './customer.errors';

const spec = specFor(customerDecider);
const at = '2026-05-01T12:00:00.000Z';
const registered: CustomerEvent = { type: 'customer.registered', data: { customerId: 'c1', at } };
const order = (status: OrderFields['status'], orderId = 'A-1001'): OrderFields => ({
  orderId,
  placedAt: '2026-04-30T09:00:00.000Z',
  status,
  items: [{ sku: 'TSHIRT-M', name: 'T-shirt, M', quantity: 2, unitPrice: { amountMinor: 1999, currency: 'EUR' } }],
  total: { amountMinor: 3998, currency: 'EUR' },
});
const recorded = (status: OrderFields['status'], orderId = 'A-1001'): CustomerEvent => ({
  type: 'customer.order-recorded',
  data: { ...order(status, orderId), source: 'kafka', at },
});

describe('customer context: the profile from the brand’s systems', () => {
  it('records only the fields that change, and nothing when nothing does', () => {
    spec
      .given([registered])
      .when({ type: 'UpdateProfile', profile: { name: 'Ana Lima', tier: 'gold', attributes: { plan: 'pro', seats: 5 } }, source: 'api', at })
      .then([{ type: 'customer.profile-updated', data: { name: 'Ana Lima', tier: 'gold', attributes: { plan: 'pro', seats: 5 }, source: 'api', at } }]);
    const known: CustomerEvent = { type: 'customer.profile-updated', data: { name: 'Ana Lima', attributes: { plan: 'pro' }, source: 'api', at } };
    spec
      .given([registered, known])
      .when({ type: 'UpdateProfile', profile: { name: 'Ana Lima', locale: 'pt-BR', attributes: { plan: 'pro', trial: null } }, source: 'kafka', at })
      .then([{ type: 'customer.profile-updated', data: { locale: 'pt-BR', source: 'kafka', at } }]);
    spec
      .given([registered, known])
      .when({ type: 'UpdateProfile', profile: { name: 'Ana Lima', attributes: { plan: 'pro' } }, source: 'kafka', at })
      .thenNothing();
  });
  it('removes an attribute given null', () => {
    const known: CustomerEvent = { type: 'customer.profile-updated', data: { attributes: { plan: 'pro', trial: true }, source: 'api', at } };
    spec
      .given([registered, known])
      .when({ type: 'UpdateProfile', profile: { attributes: { trial: null } }, source: 'api', at })
      .then([{ type: 'customer.profile-updated', data: { attributes: { trial: null }, source: 'api', at } }]);
    const state = fold(customerDecider, [registered, known, { type: 'customer.profile-updated', data: { attributes: { trial: null }, source: 'api', at } }]);
    assert.deepEqual(state.profile.attributes, { plan: 'pro' });
  });
  it('refuses a profile past 50 attributes, naming the field, and writes nothing', () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`a${i}`, i]));
    const known: CustomerEvent = { type: 'customer.profile-updated', data: { attributes: many, source: 'api', at } };
    spec
      .given([registered, known])
      .when({ type: 'UpdateProfile', profile: { attributes: { one_more: 1 } }, source: 'api', at })
      .thenThrows(InvalidArgumentError, {
        violations: [{ field: 'profile.attributes', description: 'at most 50 attributes per customer; this update would make 51' }],
      });
    // Replacing one of the fifty is fine.
    spec
      .given([registered, known])
      .when({ type: 'UpdateProfile', profile: { attributes: { a0: 'zero' } }, source: 'api', at })
      .then([{ type: 'customer.profile-updated', data: { attributes: { a0: 'zero' }, source: 'api', at } }]);
  });
  it('the schema bounds what the brand may send: sizes, key shapes, value types', () => {
    const ok = ProfileUpdated.schema.safeParse({ name: 'Ana', locale: 'de-AT', attributes: { cart_value: 12.5, vip: true }, source: 'api', at });
    assert.equal(ok.success, true);
    for (const bad of [
      { name: 'x'.repeat(201) },
      { email: 'not-an-email' },
      { locale: 'deutsch!' },
      { attributes: { 'Bad-Key': 1 } },
      { attributes: { nested: { a: 1 } } },
      { attributes: { long: 'x'.repeat(1025) } },
    ])
      assert.equal(ProfileUpdated.schema.safeParse({ ...bad, source: 'api', at }).success, false, JSON.stringify(bad).slice(0, 60));
  });
  it('nothing is recorded for an erased customer', () => {
    spec
      .given([registered, { type: 'customer.erased', data: { at } }])
      .when({ type: 'UpdateProfile', profile: { name: 'Ana' }, source: 'api', at })
      .thenThrows(CustomerErasedError);
  });
});

describe('customer context: orders', () => {
  it('records an order once per status: the same again changes nothing, a new status is a new event', () => {
    spec
      .given([registered])
      .when({ type: 'RecordOrder', order: order('placed'), source: 'kafka', at })
      .then([recorded('placed')]);
    spec
      .given([registered, recorded('placed')])
      .when({ type: 'RecordOrder', order: order('placed'), source: 'kafka', at })
      .thenNothing();
    spec
      .given([registered, recorded('placed')])
      .when({ type: 'RecordOrder', order: order('shipped'), source: 'kafka', at })
      .then([recorded('shipped')]);
  });
  it('keeps orders out of the state at a snapshot and looks one up only when a command names it', () => {
    const state = fold(customerDecider, [registered, recorded('placed'), recorded('paid', 'A-1002')]);
    const taken = customerFacts.take(state);
    assert.deepEqual(taken.state.orders, {});
    assert.deepEqual(
      taken.facts.map((f) => [f.key, f.value]),
      [
        ['order:A-1001', 'placed'],
        ['order:A-1002', 'paid'],
      ],
    );
    const command = { type: 'RecordOrder' as const, order: order('placed'), source: 'kafka' as const, at };
    assert.deepEqual(customerFacts.needs(command, taken.state), ['order:A-1001']);
    assert.deepEqual(customerFacts.needs(command, state), []);
    // With the stored status (the latest of its values) the repeat is seen as one.
    const joined = customerFacts.with(taken.state, new Map([['order:A-1001', ['placed']]]));
    assert.deepEqual(customerDecider.decide(command, joined), []);
    assert.equal(customerDecider.decide({ ...command, order: order('delivered') }, joined).length, 1);
  });
  it('the schema: money in minor units with an ISO currency, bounded items, an http(s) link', () => {
    assert.equal(OrderRecorded.schema.safeParse({ ...order('paid'), url: 'https://shop.example/orders/A-1001', source: 'kafka', at }).success, true);
    for (const bad of [
      { total: { amountMinor: 39.98, currency: 'EUR' } },
      { total: { amountMinor: 3998, currency: 'euro' } },
      { status: 'lost' },
      { items: Array.from({ length: 101 }, () => ({ name: 'x', quantity: 1 })) },
      { url: 'javascript:alert(1)' },
      { orderId: '' },
    ])
      assert.equal(OrderRecorded.schema.safeParse({ ...order('paid'), ...bad, source: 'kafka', at }).success, false, JSON.stringify(bad).slice(0, 60));
  });
});
