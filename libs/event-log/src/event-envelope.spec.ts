import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import fc from 'fast-check';
import { version } from 'uuid';
import { InvalidArgumentError } from '@parley/errors';
import { prepareAppend, timeOrderedId, type NewEvent } from './event-envelope';
import { newEventSchema, plainlyValid } from './new-event.schema';

describe('time-ordered ids', () => {
  it('are UUID v7, unique, and in the order they were made, many to a millisecond', () => {
    const started = Date.now();
    const ids = Array.from({ length: 50_000 }, () => timeOrderedId());
    assert.ok(ids.every((id) => version(id) === 7));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
    // The first 48 bits are the millisecond it was made in.
    const msOf = (id: string) => parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    assert.ok(msOf(ids[0]!) >= started && msOf(ids.at(-1)!) <= Date.now() + 1);
    assert.ok(
      ids.some((id, i) => i > 0 && msOf(id) === msOf(ids[i - 1]!)),
      'some ids share a millisecond, and still sort in order',
    );
  });
});

describe('the fast check of a new event', () => {
  // Values at and around every limit and rule of the schema, of the right and the wrong types.
  const text = fc.oneof(
    fc.constantFrom('', 'a', 'x'.repeat(128), 'x'.repeat(129), 'x'.repeat(200), 'x'.repeat(201), ' ', '\u0000'),
    fc.string({ maxLength: 10 }),
  );
  const types = fc.oneof(
    text,
    fc.constantFrom('conversation.message-received', 'a.b-c', 'a..b', 'A.b', 'a.-b', 'a.b.', '1a', 'a.b1-', `a.${'b'.repeat(198)}`, `a.${'b'.repeat(199)}`),
    fc.stringMatching(/^[a-z0-9.-]{1,12}$/),
  );
  const numbers = fc.oneof(fc.constantFrom(0, 1, 1.5, 1000, 1001, -1, Number.NaN, Infinity, -0, 2 ** 53), fc.integer({ min: -5, max: 1005 }), fc.double());
  const odd = fc.constantFrom(undefined, null, true, [], {}, new Date(0), new Map(), Symbol.for('x'), 10n, () => 1);
  const json = fc.jsonValue();
  const notJson = fc.oneof(
    odd,
    fc.record({ nested: odd }),
    fc.array(fc.oneof(json, odd), { maxLength: 3 }),
    fc.constantFrom(Number.NaN, Infinity, Object.create({ inherited: 1 }) as object),
  );
  const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });
  const anyValue = fc.oneof(
    text,
    types,
    numbers,
    odd,
    json,
    notJson,
    fc.uuid(),
    fc.constantFrom('2026-03-29T00:59:59.123+01:00', '2026-03-29', 'now'),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(json, odd), { maxKeys: 3 }),
  );
  // A valid event with one or two fields set to anything: every limit gets tried on its own.
  const valid = fc.record(
    {
      type: fc.stringMatching(/^[a-z][a-z0-9]{0,5}(\.[a-z][a-z0-9-]{0,5}){0,3}$/),
      tenantId: fc.string({ minLength: 1, maxLength: 128 }),
      schemaVersion: maybe(fc.integer({ min: 1, max: 1000 })),
      correlationId: maybe(fc.string({ minLength: 1, maxLength: 128 })),
      causationId: maybe(fc.oneof(fc.string({ minLength: 1, maxLength: 128 }), fc.constant(null))),
      data: json,
      metadata: maybe(fc.dictionary(fc.string({ maxLength: 5 }), json, { maxKeys: 3 })),
    },
    { requiredKeys: ['type', 'tenantId', 'data'] },
  );
  const field = fc.constantFrom('id', 'type', 'schemaVersion', 'tenantId', 'occurredAt', 'correlationId', 'causationId', 'data', 'metadata', 'extra');
  const event = fc
    .tuple(valid, fc.array(fc.tuple(field, fc.oneof(anyValue, fc.constant(undefined))), { minLength: 0, maxLength: 2 }))
    .map(([base, changes]) => {
      const e: Record<string, unknown> = { ...base };
      for (const [name, value] of changes) e[name] = value;
      return e;
    });

  it('never accepts an event the schema refuses', () => {
    fc.assert(
      // fast-check prints the event it finds accepted though zod refuses it.
      fc.property(event, (e) => !plainlyValid(e as unknown as NewEvent) || newEventSchema.safeParse(e).success),
      { numRuns: 20_000 },
    );
  });

  it('accepts what deciders write, which prepareAppend then takes without zod, as it would have with it', () => {
    const written: NewEvent[] = [
      {
        type: 'conversation.message-received',
        schemaVersion: 1,
        tenantId: 'tenant-a',
        data: { text: 'enc:v1:abc', attachments: [], at: '2026-05-01T12:00:00.000Z' },
        metadata: { subjectId: 'c1', actor: 'channel:whatsapp' },
      },
      { type: 'identity.claimed', tenantId: 't', correlationId: 'corr', causationId: null, data: { customerId: 'c1' } },
    ];
    for (const e of written) {
      assert.equal(plainlyValid(e), true);
      assert.equal(newEventSchema.safeParse(e).success, true);
    }
    const [prepared] = prepareAppend('conversation-t-c1', [written[0]!]);
    assert.deepEqual(
      { ...prepared, id: 'x', occurredAt: 'y', correlationId: 'z', metadata: { ...prepared!.metadata, traceparent: undefined } },
      {
        id: 'x',
        type: 'conversation.message-received',
        schemaVersion: 1,
        tenantId: 'tenant-a',
        occurredAt: 'y',
        correlationId: 'z',
        causationId: null,
        data: written[0]!.data,
        metadata: { subjectId: 'c1', actor: 'channel:whatsapp', traceparent: undefined },
      },
    );
    // Refused by either path with the same words: the fast check only ever says yes.
    for (const bad of [
      { type: 'Bad Type', tenantId: 't', data: {} },
      { type: 'a.b', tenantId: '', data: {} },
      { type: 'a.b', tenantId: 't', data: { at: new Date(0) } },
      { type: 'a.b', tenantId: 't', data: {}, metadata: [] },
    ] as NewEvent[]) {
      assert.equal(plainlyValid(bad), false);
      assert.throws(() => prepareAppend('s-1', [bad]), InvalidArgumentError);
    }
  });
});
