import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { z } from 'zod';
import { EVENT_CONTRACTS, INTERNAL_EVENT_CONTRACTS, jsonSchemas, personalFieldsOf } from './event-contracts';
import { contract, upcast } from './event-schema.registry';

describe('event contracts', () => {
  it('every event type has a versioned schema, and every personal path exists in it', () => {
    assert.ok(EVENT_CONTRACTS.size >= 30);
    for (const [type, c] of EVENT_CONTRACTS) {
      assert.match(type, /^(conversation|customer|identity|agent|queue|targeting|invitation|routing|workspace)\.[a-z-]+$/);
      assert.ok(Number.isInteger(c.version) && c.version >= 1);
      const shape = (c.schema as unknown as z.ZodObject).shape as Record<string, unknown>;
      for (const path of c.personal) assert.ok(path.split('.')[0]!.replace('[]', '') in shape, `${type}: ${path}`);
    }
  });

  it("versions the log's own event types too, without personal data, apart from the published ones", () => {
    assert.ok(INTERNAL_EVENT_CONTRACTS.has('lease.held'));
    for (const [type, c] of INTERNAL_EVENT_CONTRACTS) {
      assert.ok(!EVENT_CONTRACTS.has(type), type);
      assert.deepEqual(c.personal, []);
      assert.ok(`${type}.v${c.version}` in jsonSchemas(), `${type} has a JSON Schema`);
    }
    const held = INTERNAL_EVENT_CONTRACTS.get('lease.held')!.schema;
    assert.ok(held.safeParse({ name: 'outbox-sweeper', holder: 'h/1/ab', until: '2026-12-06T10:00:20.000Z', at: '2026-12-06T10:00:00.000Z' }).success);
    assert.ok(!held.safeParse({ name: 'outbox-sweeper', holder: '', until: 'soon', at: '2026-12-06T10:00:00.000Z' }).success);
  });

  it('marks message text, names, identities and comments as personal', () => {
    assert.deepEqual(personalFieldsOf('conversation.message-received'), ['text', 'attachments[].ref', 'attachments[].name']);
    assert.ok(personalFieldsOf('customer.identity-linked').includes('identity.id'));
    assert.ok(personalFieldsOf('conversation.satisfaction-recorded').includes('comment'));
    assert.deepEqual(personalFieldsOf('conversation.assigned'), []);
  });

  it('reads an older version through its upcasters, and rejects what does not fit', () => {
    // v1 had `body`; v2 renamed it `text` and added `language`.
    const v2 = contract('test.noted', 2, z.object({ text: z.string(), language: z.string() }), ['text'], {
      1: (old) => ({ text: (old as { body: string }).body, language: 'und' }),
    });
    assert.deepEqual(upcast(v2, 1, { body: 'hi' }), { text: 'hi', language: 'und' });
    assert.deepEqual(upcast(v2, 2, { text: 'hi', language: 'fr' }), { text: 'hi', language: 'fr' });
    assert.throws(() => upcast(v2, 1, { nothing: true }));
    assert.throws(() => upcast(contract('test.other', 3, z.object({})), 1, {}), /no upcaster from version 1/);
  });
});
