import { EVENT_CONTRACTS, streams, type CustomerEvent, type RoutingRuleData, type RoutingRulesEvent } from '@parley/contracts';
import { evolve as evolveCustomer, initialState as customerInitialState, view as customerView } from '@parley/customer';
import { DeciderStore, type EventLog } from '@parley/event-log';
import { counter, type Registry } from '@parley/observability';
import {
  chooseQueue,
  needsCustomer,
  routingRulesDecider,
  type ConversationFacts,
  type QueueChoice,
  type RoutingRulesCommand,
  type RoutingRulesState,
} from '@parley/routing-domain';

/** How long a replica answers from the rules it read: a change made through another replica applies within this. */
export const RULES_FRESH_MS = 5_000;

/**
 * The tenants' routing rules (stream `routing-<tenant>`), and the queue they pick
 * for a conversation. Read through a short cache: intake asks for every new
 * conversation, and rules change rarely.
 */
export class RoutingRulesBook {
  private readonly store: DeciderStore<RoutingRulesCommand, RoutingRulesEvent, RoutingRulesState>;
  private readonly read = new Map<string, { state: RoutingRulesState; at: number }>();
  private readonly chosen;

  constructor(
    private readonly log: EventLog,
    private readonly fallbackQueueId: string,
    registry: Registry,
    private readonly now: () => number = Date.now,
  ) {
    this.store = new DeciderStore({ log, decider: routingRulesDecider, contracts: EVENT_CONTRACTS, snapshotSchemaVersion: 1, cacheSize: 10_000 });
    this.chosen = counter(registry, {
      name: 'parley_routing_queue_choices_total',
      help: "Queues picked for new and reopened conversations: by a tenant's rule or its default queue.",
      labelNames: ['by'] as const,
    });
  }

  async rules(tenantId: string): Promise<RoutingRulesState> {
    const kept = this.read.get(tenantId);
    if (kept && this.now() - kept.at < RULES_FRESH_MS) return kept.state;
    const { state } = await this.store.load(streams.routingRules(tenantId));
    this.read.set(tenantId, { state, at: this.now() });
    return state;
  }

  /** Every queue routing may send the tenant's conversations to: its rules', its default, this service's default. */
  async queues(tenantId: string): Promise<string[]> {
    const state = await this.rules(tenantId);
    return [...new Set([...state.rules.map((r) => r.queueId), state.defaultQueueId ?? this.fallbackQueueId, this.fallbackQueueId])];
  }

  /** Replaces the tenant's rules; false when they were exactly these already. */
  async set(tenantId: string, rules: RoutingRuleData[], defaultQueueId: string, actor: string, at: string): Promise<boolean> {
    const result = await this.store.handle(
      streams.routingRules(tenantId),
      { type: 'SetRoutingRules', rules, defaultQueueId, at },
      { tenantId, metadata: { actor } },
    );
    this.read.set(tenantId, { state: result.state, at: this.now() });
    return result.events.length > 0;
  }

  /** The queue a conversation of this customer, last written on `channel`, waits in. */
  async choose(tenantId: string, customerId: string | null, channel: string | null): Promise<QueueChoice> {
    const rules = await this.rules(tenantId);
    const attributes = customerId && needsCustomer(rules) ? await this.attributesOf(tenantId, customerId) : {};
    const language = typeof attributes['language'] === 'string' ? attributes['language'] : null;
    const facts: ConversationFacts = { channel, language, attributes };
    const choice = chooseQueue(rules, facts, this.fallbackQueueId);
    this.chosen.inc({ by: choice.ruleId ? 'rule' : 'default' });
    return choice;
  }

  private async attributesOf(tenantId: string, customerId: string, hops = 0): Promise<Readonly<Record<string, unknown>>> {
    const events = await this.log.readStream(streams.customer(tenantId, customerId));
    const state = events.reduce((s, e) => evolveCustomer(s, { type: e.type, data: e.data } as CustomerEvent), customerInitialState());
    // A customer merged into another: the survivor holds the attributes now.
    if (state.mergedInto && hops < 3) return this.attributesOf(tenantId, state.mergedInto, hops + 1);
    return customerView(state).attributes;
  }
}
