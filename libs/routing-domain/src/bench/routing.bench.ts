/**
 * `npm run bench:routing`: 10,000 waiting conversations and 1,000 agents (10 live
 * chats each) in one queue; dispatch rounds of up to BENCH_BATCH offers, each
 * accepted, until everyone is assigned. Prints assignments/s and the p50/p99
 * latency of one decision (a Dispatch, or an Accept), for the decider alone (no I/O).
 */
import type { RoutingEvent } from '@parley/contracts';
import { evolveAll, initialState, type RoutingState } from '../routing.state';
import { decide, type AgentView, type QueuePolicy } from '../routing.decide';

const WAITING = Number(process.env['BENCH_WAITING'] ?? 10_000);
const AGENTS = Number(process.env['BENCH_AGENTS'] ?? 1_000);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 100);
const T0 = Date.parse('2026-06-01T10:00:00.000Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();

function apply(state: RoutingState, events: readonly RoutingEvent[]): RoutingState {
  return events.length ? evolveAll(state, events) : state;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

function main(): void {
  const policy: QueuePolicy = {
    strategy: (process.env['BENCH_STRATEGY'] as QueuePolicy['strategy']) ?? 'longest-idle',
    offerTimeoutSeconds: 30,
    stickySeconds: 0,
    escalation: [],
    requeueLiveOnOffline: true,
  };
  const agents: AgentView[] = Array.from({ length: AGENTS }, (_, i) => ({
    agentId: `agent-${String(i).padStart(5, '0')}`,
    online: true,
    skills: ['billing'],
    capacity: { live: 10, messaging: 10 },
    loadElsewhere: { live: 0, messaging: 0 },
  }));
  let state = initialState();
  const fillStarted = performance.now();
  const enqueued: RoutingEvent[] = [];
  for (let i = 0; i < WAITING; i++)
    enqueued.push(
      ...decide({ type: 'Enqueue', conversationId: `c-${i}`, kind: 'live', priority: i % 3, skills: ['billing'], reason: 'new', at: at(i) }, state),
    );
  state = apply(state, enqueued);
  const fillMs = performance.now() - fillStarted;
  const latencies: number[] = [];
  let assignments = 0;
  let clock = WAITING;
  let nextOffer = 0;
  const started = performance.now();
  while (state.waiting.length > 0) {
    const t0 = performance.now();
    const offered = decide({ type: 'Dispatch', agents, policy, offerIds: Array.from({ length: BATCH }, () => `o-${nextOffer++}`), at: at(clock++) }, state);
    latencies.push(performance.now() - t0);
    if (offered.length === 0) break;
    state = apply(state, offered);
    for (const e of offered) {
      if (e.type !== 'routing.offered') continue;
      const t1 = performance.now();
      const accepted = decide({ type: 'Accept', offerId: e.data.offerId, agentId: e.data.agentId, at: at(clock++) }, state);
      latencies.push(performance.now() - t1);
      state = apply(state, accepted);
      assignments++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const perAgent = new Map<string, number>();
  for (const a of Object.values(state.assigned)) perAgent.set(a.agentId, (perAgent.get(a.agentId) ?? 0) + 1);
  process.stdout.write(
    [
      `routing (${policy.strategy}): ${WAITING} waiting conversations, ${AGENTS} agents, offers in rounds of ${BATCH}; queue filled in ${(fillMs / 1000).toFixed(2)} s`,
      `  ${assignments} assignments in ${seconds.toFixed(2)} s: ${Math.round(assignments / seconds)} assignments/s`,
      `  decision latency: p50 ${percentile(latencies, 50).toFixed(2)} ms  p99 ${percentile(latencies, 99).toFixed(2)} ms  max ${(latencies.at(-1) ?? 0).toFixed(2)} ms`,
      `  most live chats on one agent: ${Math.max(...perAgent.values())} (capacity 10); still waiting: ${state.waiting.length}`,
      '',
    ].join('\n'),
  );
}

main();
