import type { RoutingRuleData, RoutingRulesEvent } from '@parley/contracts';
import type { Decider } from '@parley/decider';
import { InvalidArgumentError } from '@parley/errors';

/** A tenant's routing rules (stream `routing-<tenant>`): which queue a conversation waits in. */
export interface RoutingRulesState {
  readonly rules: readonly RoutingRuleData[];
  /** Where a conversation no rule matches goes; null until the tenant sets rules (the service's default then). */
  readonly defaultQueueId: string | null;
}

export type RoutingRulesCommand = { type: 'SetRoutingRules'; rules: RoutingRuleData[]; defaultQueueId: string; at: string };

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export const routingRulesDecider: Decider<RoutingRulesCommand, RoutingRulesEvent, RoutingRulesState> = {
  initialState: () => ({ rules: [], defaultQueueId: null }),
  decide: (command, state) => {
    const seen = new Set<string>();
    command.rules.forEach((rule, i) => {
      if (seen.has(rule.ruleId)) throw new InvalidArgumentError('invalid request', [{ field: `rules[${i}].rule_id`, description: 'rule ids are unique' }]);
      seen.add(rule.ruleId);
    });
    // Setting what is already set writes nothing: a retried call appends no second event.
    if (same(state.rules, command.rules) && state.defaultQueueId === command.defaultQueueId) return [];
    return [{ type: 'routing.rules-set', data: { rules: command.rules, defaultQueueId: command.defaultQueueId, at: command.at } }];
  },
  evolve: (_state, event) => ({ rules: event.data.rules, defaultQueueId: event.data.defaultQueueId }),
};

/** What routing knows of a conversation when it picks the queue. */
export interface ConversationFacts {
  /** The channel the customer last wrote on (web for a live chat). */
  readonly channel: string | null;
  /** The customer's `language` attribute, BCP 47, if any. */
  readonly language: string | null;
  readonly attributes: Readonly<Record<string, unknown>>;
}

export interface QueueChoice {
  readonly queueId: string;
  /** The rule that matched; null for the default queue. */
  readonly ruleId: string | null;
  /** Skills the rule adds to the queue's own. */
  readonly skills: readonly string[];
}

const primary = (tag: string) => tag.toLowerCase().split('-')[0]!;

function matches(rule: RoutingRuleData, facts: ConversationFacts): boolean {
  if (rule.channels && !(facts.channel !== null && rule.channels.includes(facts.channel))) return false;
  if (rule.languages) {
    const language = facts.language;
    // `de` matches de, de-AT, de-CH; `de-AT` only de-AT.
    const ok =
      language !== null &&
      rule.languages.some((l) => l.toLowerCase() === language.toLowerCase() || (!l.includes('-') && primary(language) === l.toLowerCase()));
    if (!ok) return false;
  }
  // Compared as text: a rule set over gRPC says "42" for an attribute stored as 42.
  for (const [key, value] of Object.entries(rule.attributes ?? {})) {
    const actual = facts.attributes[key];
    if (!['string', 'number', 'boolean'].includes(typeof actual) || String(actual) !== String(value)) return false;
  }
  return true;
}

/** The first rule, in order, whose every condition holds; none, the default queue (the tenant's, else `fallbackQueueId`). */
export function chooseQueue(state: RoutingRulesState, facts: ConversationFacts, fallbackQueueId: string): QueueChoice {
  const rule = state.rules.find((r) => matches(r, facts));
  if (rule) return { queueId: rule.queueId, ruleId: rule.ruleId, skills: rule.skills ?? [] };
  return { queueId: state.defaultQueueId ?? fallbackQueueId, ruleId: null, skills: [] };
}

/** Whether any rule looks at the customer (language, attributes): only then is the customer read. */
export function needsCustomer(state: RoutingRulesState): boolean {
  return state.rules.some((r) => r.languages !== undefined || r.attributes !== undefined);
}
