import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { InvalidArgumentError } from '@parley/errors';
import { checkTypes, typeMatcher, typesCover, unionOfTypes } from './event-types';

describe('event types as readers name them', () => {
  it('matches exact names and families by their prefix ending in a dot', () => {
    const matches = typeMatcher(['conversation.', 'agent.presence-changed']);
    assert.ok(matches('conversation.started'));
    assert.ok(matches('agent.presence-changed'));
    assert.ok(!matches('agent.capacity-set'));
    assert.ok(!matches('conversations.started'));
    assert.ok(typeMatcher(undefined)('anything.at-all'));
  });

  it('knows when one list covers another', () => {
    assert.ok(typesCover(['conversation.', 'agent.'], ['conversation.started', 'agent.']));
    assert.ok(typesCover(['conversation.'], ['conversation.message.']));
    assert.ok(!typesCover(['conversation.started'], ['conversation.']));
    assert.ok(!typesCover(['conversation.'], ['customer.registered']));
    assert.ok(!typesCover(['conversation.'], undefined), 'every type is more than one family');
    assert.ok(typesCover(undefined, ['x.']));
  });

  it('unites lists, dropping what a family already holds; every type wins', () => {
    assert.deepEqual(unionOfTypes([['conversation.message-sent'], ['conversation.'], ['agent.', 'conversation.started']]), ['agent.', 'conversation.']);
    assert.equal(unionOfTypes([['a.'], undefined]), undefined);
  });

  it('rejects what is not a type or a family, naming the entry', () => {
    assert.throws(
      () => checkTypes(['ok.type', 'Not OK']),
      (e: unknown) => e instanceof InvalidArgumentError && e.violations[0]!.field === 'types.1',
    );
    assert.throws(() => checkTypes([]), InvalidArgumentError);
    checkTypes(undefined);
    checkTypes(['conversation.', 'agent.presence-changed']);
  });
});
