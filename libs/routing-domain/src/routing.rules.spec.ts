import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { RoutingRuleData, RoutingRulesEvent } from '@parley/contracts';
import { specFor } from '@parley/decider/testing';
import { InvalidArgumentError } from '@parley/errors';
import { chooseQueue, needsCustomer, routingRulesDecider, type ConversationFacts } from './routing.rules';

const spec = specFor(routingRulesDecider);
const AT = '2026-12-07T10:00:00.000Z';
const RULES: RoutingRuleData[] = [
  { ruleId: 'vip', queueId: 'vip', attributes: { tier: 'gold' } },
  { ruleId: 'german-whatsapp', queueId: 'de-messaging', channels: ['whatsapp', 'messenger'], languages: ['de'] },
  { ruleId: 'french', queueId: 'fr', languages: ['fr-CA'], skills: ['quebec'] },
  { ruleId: 'live', queueId: 'live', channels: ['web'] },
];
const set = (rules: RoutingRuleData[], defaultQueueId = 'support'): RoutingRulesEvent => ({
  type: 'routing.rules-set',
  data: { rules, defaultQueueId, at: AT },
});
const facts = (over: Partial<ConversationFacts> = {}): ConversationFacts => ({ channel: 'whatsapp', language: null, attributes: {}, ...over });
const state = spec.given([set(RULES)]).state();

describe('routing rules: setting them', () => {
  it('records the rules and the default queue', () => {
    spec
      .given([])
      .when({ type: 'SetRoutingRules', rules: RULES, defaultQueueId: 'support', at: AT })
      .then([set(RULES)]);
  });

  it('writes nothing when the same rules are set again (a retried call)', () => {
    spec
      .given([set(RULES)])
      .when({ type: 'SetRoutingRules', rules: RULES, defaultQueueId: 'support', at: AT })
      .thenNothing();
  });

  it('replaces them whole, in the new order', () => {
    const reordered = [RULES[1]!, RULES[0]!];
    spec
      .given([set(RULES)])
      .when({ type: 'SetRoutingRules', rules: reordered, defaultQueueId: 'support', at: AT })
      .then([set(reordered)]);
  });

  it('refuses two rules with one id, naming the second', () => {
    spec
      .given([])
      .when({ type: 'SetRoutingRules', rules: [RULES[0]!, { ...RULES[1]!, ruleId: 'vip' }], defaultQueueId: 'support', at: AT })
      .thenThrows(InvalidArgumentError, { violations: [{ field: 'rules[1].rule_id', description: 'rule ids are unique' }] });
  });
});

describe('routing rules: choosing the queue', () => {
  it('takes the first rule whose every condition holds', () => {
    // Gold and German on WhatsApp: both match, the first in order wins.
    assert.deepEqual(chooseQueue(state, facts({ language: 'de', attributes: { tier: 'gold' } }), 'fallback'), { queueId: 'vip', ruleId: 'vip', skills: [] });
    assert.equal(chooseQueue(state, facts({ language: 'de' }), 'fallback').queueId, 'de-messaging');
    assert.equal(chooseQueue(state, facts({ channel: 'messenger', language: 'de' }), 'fallback').queueId, 'de-messaging');
  });

  it('matches a language by its primary subtag unless the rule names a region', () => {
    assert.equal(chooseQueue(state, facts({ language: 'de-AT' }), 'fallback').queueId, 'de-messaging');
    assert.equal(chooseQueue(state, facts({ language: 'DE' }), 'fallback').queueId, 'de-messaging');
    assert.deepEqual(chooseQueue(state, facts({ language: 'fr-CA' }), 'fallback'), { queueId: 'fr', ruleId: 'french', skills: ['quebec'] });
    assert.equal(chooseQueue(state, facts({ language: 'fr-FR' }), 'fallback').queueId, 'support');
  });

  it('needs every condition: German on the web is not German messaging, and a silver tier is not gold', () => {
    assert.equal(chooseQueue(state, facts({ channel: 'web', language: 'de' }), 'fallback').queueId, 'live');
    assert.equal(chooseQueue(state, facts({ attributes: { tier: 'silver' } }), 'fallback').queueId, 'support');
    assert.equal(chooseQueue(state, facts({ attributes: { tier: { name: 'gold' } } }), 'fallback').queueId, 'support');
    assert.equal(chooseQueue(state, facts({ channel: null, language: 'de' }), 'fallback').queueId, 'support');
  });

  it("goes to the tenant's default queue when no rule matches, and to the service's before any rules are set", () => {
    assert.deepEqual(chooseQueue(state, facts({ channel: 'sms' }), 'fallback'), { queueId: 'support', ruleId: null, skills: [] });
    assert.deepEqual(chooseQueue(spec.given([]).state(), facts(), 'fallback'), { queueId: 'fallback', ruleId: null, skills: [] });
  });

  it('compares attributes as text, as rules set over gRPC give them', () => {
    const numeric = spec.given([set([{ ruleId: 'big', queueId: 'key-accounts', attributes: { seats: '500', trial: 'false' } }])]).state();
    assert.equal(chooseQueue(numeric, facts({ attributes: { seats: 500, trial: false } }), 'fallback').queueId, 'key-accounts');
    assert.equal(chooseQueue(numeric, facts({ attributes: { seats: 50, trial: false } }), 'fallback').queueId, 'support');
  });

  it('reads the customer only when a rule looks at language or attributes', () => {
    assert.equal(needsCustomer(state), true);
    assert.equal(needsCustomer(spec.given([set([RULES[3]!])]).state()), false);
  });
});
