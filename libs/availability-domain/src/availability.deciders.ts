import type { AvailabilityEvent, RoutingPolicyData, TargetingRuleData } from '@parley/contracts';
import type { Decider } from '@parley/decider';
import { validateBusinessHours, type BusinessHours, type Slot, type Weekday } from './business-hours';
import type { Presence } from './offer';

type Event<T extends AvailabilityEvent['type']> = Extract<AvailabilityEvent, { type: T }>;

// ---- agents: stream agent-<tenant>-<agentId>

export type AgentCommand =
  | { type: 'SetPresence'; agentId: string; presence: Presence; reason: 'manual' | 'heartbeat-lost' | 'disconnected'; at: string }
  | { type: 'SetCapacity'; agentId: string; liveChats: number; messaging: number; skills: string[]; languages: string[]; at: string };

export interface AgentState {
  readonly agentId: string | null;
  readonly presence: Presence;
  readonly liveChats: number;
  readonly messaging: number;
  readonly skills: readonly string[];
  readonly languages: readonly string[];
}

export const agentDecider: Decider<AgentCommand, Event<'agent.presence-changed' | 'agent.capacity-set'>, AgentState> = {
  initialState: () => ({ agentId: null, presence: 'offline', liveChats: 0, messaging: 0, skills: [], languages: [] }),
  decide(command, state) {
    if (command.type === 'SetPresence') {
      return state.presence === command.presence
        ? []
        : [{ type: 'agent.presence-changed', data: { agentId: command.agentId, presence: command.presence, reason: command.reason, at: command.at } }];
    }
    const same =
      state.liveChats === command.liveChats &&
      state.messaging === command.messaging &&
      state.skills.join() === command.skills.join() &&
      state.languages.join() === command.languages.join();
    return same && state.agentId !== null
      ? []
      : [
          {
            type: 'agent.capacity-set',
            data: {
              agentId: command.agentId,
              liveChats: command.liveChats,
              messaging: command.messaging,
              skills: command.skills,
              languages: command.languages,
              at: command.at,
            },
          },
        ];
  },
  evolve(state, event) {
    if (event.type === 'agent.presence-changed') return { ...state, agentId: event.data.agentId, presence: event.data.presence };
    return {
      ...state,
      agentId: event.data.agentId,
      liveChats: event.data.liveChats,
      messaging: event.data.messaging,
      skills: event.data.skills,
      languages: event.data.languages,
    };
  },
};

// ---- queues: stream queue-<tenant>-<queueId>

export type QueueCommand =
  | { type: 'SetHours'; queueId: string; timeZone: string; weekly: Partial<Record<Weekday, Slot[]>>; at: string }
  | { type: 'SetException'; queueId: string; date: string; slots: Slot[]; at: string }
  | { type: 'RemoveException'; queueId: string; date: string; at: string }
  | { type: 'SetRequirements'; queueId: string; skills: string[]; languages: string[]; typicalResponseSeconds: number; at: string }
  | ({ type: 'SetRoutingPolicy'; queueId: string; at: string } & RoutingPolicyData);

export interface QueueState {
  readonly queueId: string | null;
  readonly hours: BusinessHours;
  readonly skills: readonly string[];
  readonly languages: readonly string[];
  readonly typicalResponseSeconds: number;
  /** Null: the routing service's defaults. */
  readonly routing: RoutingPolicyData | null;
}

export type QueueEvent = Event<'queue.hours-set' | 'queue.exception-set' | 'queue.exception-removed' | 'queue.requirements-set' | 'queue.routing-policy-set'>;

export const queueDecider: Decider<QueueCommand, QueueEvent, QueueState> = {
  initialState: () => ({
    queueId: null,
    hours: { timeZone: 'UTC', weekly: {}, exceptions: {} },
    skills: [],
    languages: [],
    typicalResponseSeconds: 300,
    routing: null,
  }),
  decide(command, state) {
    switch (command.type) {
      case 'SetHours':
        validateBusinessHours({ timeZone: command.timeZone, weekly: command.weekly, exceptions: {} });
        return [{ type: 'queue.hours-set', data: { queueId: command.queueId, timeZone: command.timeZone, weekly: command.weekly, at: command.at } }];
      case 'SetException':
        validateBusinessHours({ timeZone: state.hours.timeZone, weekly: {}, exceptions: { [command.date]: command.slots } });
        return [{ type: 'queue.exception-set', data: { queueId: command.queueId, date: command.date, slots: command.slots, at: command.at } }];
      case 'RemoveException':
        return state.hours.exceptions[command.date]
          ? [{ type: 'queue.exception-removed', data: { queueId: command.queueId, date: command.date, at: command.at } }]
          : [];
      case 'SetRequirements':
        return [
          {
            type: 'queue.requirements-set',
            data: {
              queueId: command.queueId,
              skills: command.skills,
              languages: command.languages,
              typicalResponseSeconds: command.typicalResponseSeconds,
              at: command.at,
            },
          },
        ];
      case 'SetRoutingPolicy': {
        const { type: _type, ...data } = command;
        return [{ type: 'queue.routing-policy-set', data }];
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'queue.hours-set':
        return { ...state, queueId: event.data.queueId, hours: { ...state.hours, timeZone: event.data.timeZone, weekly: event.data.weekly } };
      case 'queue.exception-set':
        return {
          ...state,
          queueId: event.data.queueId,
          hours: { ...state.hours, exceptions: { ...state.hours.exceptions, [event.data.date]: event.data.slots } },
        };
      case 'queue.exception-removed': {
        const { [event.data.date]: _gone, ...rest } = state.hours.exceptions;
        return { ...state, hours: { ...state.hours, exceptions: rest } };
      }
      case 'queue.requirements-set':
        return {
          ...state,
          queueId: event.data.queueId,
          skills: event.data.skills,
          languages: event.data.languages,
          typicalResponseSeconds: event.data.typicalResponseSeconds,
        };
      case 'queue.routing-policy-set': {
        const { queueId, at: _at, ...routing } = event.data;
        return { ...state, queueId, routing };
      }
    }
  },
};

// ---- targeting: stream targeting-<tenant>

export type TargetingCommand = { type: 'SetRules'; rules: TargetingRuleData[]; periodSeconds: number; at: string };
export interface TargetingState {
  readonly rules: readonly TargetingRuleData[];
  readonly periodSeconds: number;
}

export const targetingDecider: Decider<TargetingCommand, Event<'targeting.rules-set'>, TargetingState> = {
  initialState: () => ({ rules: [], periodSeconds: 86_400 }),
  decide: (command) => [{ type: 'targeting.rules-set', data: { rules: command.rules, periodSeconds: command.periodSeconds, at: command.at } }],
  evolve: (_state, event) => ({ rules: event.data.rules, periodSeconds: event.data.periodSeconds }),
};
