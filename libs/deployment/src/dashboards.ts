/**
 * Parley's Grafana dashboards, as data: an overview and one per service, built
 * on the metrics the services export. `npm run dashboards:write` writes them to
 * helm/parley/files/dashboards/ (the chart ships them as ConfigMaps for Grafana's
 * sidecar); a test checks the files are current, that every query parses
 * (promtool) and that every metric it names is exported by some service.
 */
export interface Query {
  readonly expr: string;
  readonly legend: string;
}

export interface Panel {
  readonly title: string;
  readonly unit: 'short' | 's' | 'ops' | 'percentunit' | 'bytes' | 'none';
  readonly queries: readonly Query[];
  readonly description?: string;
}

export interface Section {
  readonly title: string;
  readonly panels: readonly Panel[];
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly sections: readonly Section[];
}

const q = (expr: string, legend: string): Query => ({ expr, legend });
const quantile = (phi: number, metric: string, range: string, by = '', filter = '') =>
  `histogram_quantile(${phi}, sum by (le${by ? `, ${by}` : ''}) (rate(${metric}_bucket${filter}[${range}])))`;
const p99 = (metric: string, by: string, filter = '') => quantile(0.99, metric, '5m', by, filter);

/** What every process shows: the Node.js runtime and the event log, for one service (`service` label from the ServiceMonitor). */
function runtime(service: string): Section {
  const s = `{service="${service}"}`;
  return {
    title: 'Process and event log',
    panels: [
      { title: 'CPU', unit: 'short', queries: [q(`sum by (pod) (rate(process_cpu_seconds_total${s}[5m]))`, '{{pod}}')], description: 'Cores used.' },
      { title: 'Resident memory', unit: 'bytes', queries: [q(`sum by (pod) (process_resident_memory_bytes${s})`, '{{pod}}')] },
      {
        title: 'Event loop delay p99',
        unit: 's',
        queries: [q(`max by (pod) (nodejs_eventloop_lag_p99_seconds${s})`, '{{pod}}')],
        description: 'Above ~50 ms every request waits.',
      },
      {
        title: 'Event log append p99 and batch size',
        unit: 's',
        queries: [
          q(p99('parley_event_log_append_duration_seconds', 'adapter', s), 'append p99 {{adapter}}'),
          q(`sum(rate(parley_event_log_batch_size_sum${s}[5m])) / sum(rate(parley_event_log_batch_size_count${s}[5m]))`, 'appends per commit'),
        ],
      },
    ],
  };
}

function grpc(service: string): Section {
  const s = `{service="${service}"}`;
  return {
    title: 'gRPC API',
    panels: [
      { title: 'Calls by method', unit: 'ops', queries: [q(`sum by (method) (rate(parley_grpc_server_handled_total${s}[5m]))`, '{{method}}')] },
      {
        title: 'Errors by status',
        unit: 'ops',
        queries: [q(`sum by (code) (rate(parley_grpc_server_handled_total{service="${service}",code!="OK"}[5m]))`, '{{code}}')],
      },
      { title: 'Latency p99 by method', unit: 's', queries: [q(p99('parley_grpc_server_handling_seconds', 'method', s), '{{method}}')] },
    ],
  };
}

function kafka(service: string): Section {
  const s = `{service="${service}"}`;
  return {
    title: 'Kafka',
    panels: [
      {
        title: 'Consumer lag by group',
        unit: 'short',
        queries: [q(`sum by (group, topic) (parley_bus_consumer_lag_messages${s})`, '{{group}} {{topic}}')],
        description: 'Messages not yet committed, over the partitions each instance owns.',
      },
      { title: 'Handler time p99', unit: 's', queries: [q(p99('parley_bus_handler_duration_seconds', 'group', s), '{{group}}')] },
      {
        title: 'Handler failures and dead letters',
        unit: 'ops',
        queries: [
          q(`sum by (group) (rate(parley_bus_handler_failures_total${s}[5m]))`, 'failures {{group}}'),
          q(`sum by (topic) (rate(parley_bus_dead_letters_total${s}[5m]))`, 'dead letters {{topic}}'),
        ],
      },
      { title: 'Published', unit: 'ops', queries: [q(`sum by (topic) (rate(parley_bus_published_messages_total${s}[5m]))`, '{{topic}}')] },
    ],
  };
}

export const DASHBOARDS: readonly Dashboard[] = [
  {
    uid: 'parley-overview',
    title: 'Parley: overview',
    description: 'Customers, conversations, agents and service levels across all services.',
    sections: [
      {
        title: 'Customers and conversations',
        panels: [
          {
            title: 'Messages in by channel',
            unit: 'ops',
            queries: [q('sum by (channel) (rate(parley_ingress_inbound_total{kind="message",outcome="recorded"}[5m]))', '{{channel}}')],
          },
          {
            title: 'Replies out by channel',
            unit: 'ops',
            queries: [
              q('sum by (channel) (rate(parley_ingress_outbound_total{outcome="sent"}[5m]))', '{{channel}}'),
              q('sum(rate(parley_ingress_outbound_total{outcome="failed"}[5m]))', 'failed'),
            ],
          },
          {
            title: 'Conversations opened, reopened, resolved',
            unit: 'ops',
            queries: [
              q('sum(rate(parley_conversations_opened_total[5m]))', 'opened'),
              q('sum(rate(parley_conversations_reopened_total[5m]))', 'reopened'),
              q('sum(rate(parley_conversations_resolved_total[5m]))', 'resolved'),
            ],
          },
          {
            title: 'Conversations opened by channel',
            unit: 'ops',
            queries: [q('sum by (channel) (rate(parley_conversations_opened_total[5m]))', '{{channel}}')],
          },
        ],
      },
      {
        title: 'Service levels',
        panels: [
          {
            title: 'First response time',
            unit: 's',
            queries: [
              q(quantile(0.5, 'parley_conversation_first_response_seconds', '1h'), 'p50'),
              q(quantile(0.9, 'parley_conversation_first_response_seconds', '1h'), 'p90'),
            ],
            description: "From the customer's first waiting message to an agent's first answer (wall clock).",
          },
          {
            title: 'Resolution time',
            unit: 's',
            queries: [
              q(quantile(0.5, 'parley_conversation_resolution_seconds', '6h'), 'p50'),
              q(quantile(0.9, 'parley_conversation_resolution_seconds', '6h'), 'p90'),
            ],
          },
          { title: 'Queue depth', unit: 'short', queries: [q('sum by (queue) (parley_routing_queue_depth)', '{{queue}}')] },
          {
            title: 'Waiting time in queue',
            unit: 's',
            queries: [q(quantile(0.5, 'parley_routing_wait_seconds', '15m'), 'p50'), q(quantile(0.9, 'parley_routing_wait_seconds', '15m'), 'p90')],
          },
        ],
      },
      {
        title: 'Agents and offers',
        panels: [
          { title: 'Agents by presence', unit: 'short', queries: [q('sum by (presence) (parley_agents)', '{{presence}}')] },
          {
            title: 'Open queues, and open with nobody online',
            unit: 'short',
            queries: [q('sum by (queue) (parley_queues_open)', 'open {{queue}}'), q('sum by (queue) (parley_queues_unstaffed)', 'unstaffed {{queue}}')],
          },
          {
            title: 'Offers, accepts and timeouts',
            unit: 'ops',
            queries: [q('sum by (type, reason) (rate(parley_routing_decisions_total[5m]))', '{{type}} {{reason}}')],
          },
          {
            title: 'Invitations shown and answered',
            unit: 'ops',
            queries: [
              q('sum(rate(parley_invitations_shown_total[5m]))', 'shown'),
              q('sum by (answer) (rate(parley_invitations_answered_total[5m]))', '{{answer}}'),
            ],
          },
        ],
      },
      {
        title: 'Health',
        panels: [
          {
            title: 'Webhook acknowledgement p99',
            unit: 's',
            queries: [q(p99('parley_ingress_webhook_ack_seconds', 'channel'), '{{channel}}')],
            description: 'Answered only once durable; the target is 200 ms.',
          },
          {
            title: 'Webhook rejections by reason',
            unit: 'ops',
            queries: [q('sum by (reason) (rate(parley_ingress_webhook_rejections_total[5m]))', '{{reason}}')],
          },
          {
            title: 'gRPC server errors',
            unit: 'percentunit',
            queries: [
              q(
                'sum by (service) (rate(parley_grpc_server_handled_total{code=~"INTERNAL|UNAVAILABLE|UNKNOWN|DATA_LOSS|DEADLINE_EXCEEDED"}[5m])) / sum by (service) (rate(parley_grpc_server_handled_total[5m]))',
                '{{service}}',
              ),
            ],
          },
          { title: 'Kafka consumer lag', unit: 'short', queries: [q('sum by (group) (parley_bus_consumer_lag_messages)', '{{group}}')] },
          { title: 'Dead letters', unit: 'short', queries: [q('sum by (topic) (increase(parley_bus_dead_letters_total[1h]))', '{{topic}}')] },
          { title: 'Projection lag', unit: 's', queries: [q('max by (projection) (parley_projection_lag_seconds)', '{{projection}}')] },
        ],
      },
    ],
  },
  {
    uid: 'parley-history',
    title: 'Parley: history',
    description: 'The public API for conversations, customers and events, and its read models.',
    sections: [
      grpc('history'),
      {
        title: 'Read models',
        panels: [
          {
            title: 'Projection lag',
            unit: 's',
            queries: [q('max by (projection) (parley_projection_lag_seconds{service="history"})', '{{projection}}')],
            description: 'Age of the last event applied while more follow; 0 at the head of the log.',
          },
          {
            title: 'Projection position',
            unit: 'short',
            queries: [q('max by (projection) (parley_projection_checkpoint_position{service="history"})', '{{projection}}')],
          },
        ],
      },
      runtime('history'),
    ],
  },
  {
    uid: 'parley-ingress',
    title: 'Parley: ingress',
    description: 'Channels in and out: webhooks, live chat, custom channels over Kafka, delivery to the channels.',
    sections: [
      {
        title: 'Channels in',
        panels: [
          {
            title: 'Webhook acknowledgement p50 and p99',
            unit: 's',
            queries: [
              q('histogram_quantile(0.5, sum by (le) (rate(parley_ingress_webhook_ack_seconds_bucket{service="ingress"}[5m])))', 'p50'),
              q(p99('parley_ingress_webhook_ack_seconds', '', '{service="ingress"}'), 'p99'),
            ],
          },
          {
            title: 'Inbound by channel and outcome',
            unit: 'ops',
            queries: [q('sum by (channel, kind, outcome) (rate(parley_ingress_inbound_total{service="ingress"}[5m]))', '{{channel}} {{kind}} {{outcome}}')],
          },
          {
            title: 'Rejections by channel and reason',
            unit: 'ops',
            queries: [q('sum by (channel, reason) (rate(parley_ingress_webhook_rejections_total{service="ingress"}[5m]))', '{{channel}} {{reason}}')],
          },
          { title: 'Live chat connections', unit: 'short', queries: [q('sum by (pod) (parley_ingress_live_connections{service="ingress"})', '{{pod}}')] },
        ],
      },
      {
        title: 'Channels out (every ingress replica, for the conversations of its partitions)',
        panels: [
          {
            title: 'Replies by channel and outcome',
            unit: 'ops',
            queries: [q('sum by (channel, outcome) (rate(parley_ingress_outbound_total{service="ingress"}[5m]))', '{{channel}} {{outcome}}')],
          },
          {
            title: 'Delivery time p99',
            unit: 's',
            queries: [q(p99('parley_ingress_outbound_delivery_seconds', 'channel', '{service="ingress"}'), '{{channel}}')],
            description: 'From the reply being written to the channel accepting it.',
          },
          {
            title: 'Replies waiting',
            unit: 'short',
            queries: [q('sum(parley_bus_consumer_lag_messages{group="parley-ingress-outbound"})', 'conversation events not yet seen')],
          },
          {
            title: 'Delivery lag',
            unit: 's',
            queries: [q('max by (pod) (parley_projection_lag_seconds{service="ingress",projection="outbound-dispatch"})', '{{pod}}')],
          },
        ],
      },
      kafka('ingress'),
      runtime('ingress'),
    ],
  },
  {
    uid: 'parley-routing',
    title: 'Parley: routing',
    description: 'Queues, offers and assignments.',
    sections: [
      {
        title: 'Routing',
        panels: [
          {
            title: 'Decisions by type',
            unit: 'ops',
            queries: [q('sum by (type, reason) (rate(parley_routing_decisions_total{service="routing"}[5m]))', '{{type}} {{reason}}')],
          },
          { title: 'Queue depth', unit: 'short', queries: [q('sum by (queue) (parley_routing_queue_depth{service="routing"})', '{{queue}}')] },
          {
            title: 'Waiting time p90',
            unit: 's',
            queries: [q('histogram_quantile(0.9, sum by (le) (rate(parley_routing_wait_seconds_bucket{service="routing"}[15m])))', 'p90')],
          },
        ],
      },
      kafka('routing'),
      grpc('routing'),
      runtime('routing'),
    ],
  },
  {
    uid: 'parley-availability',
    title: 'Parley: availability',
    description: 'Presence, business hours, what visitors are offered, and the relay of the log to Kafka.',
    sections: [
      {
        title: 'Availability',
        panels: [
          { title: 'Agents by presence', unit: 'short', queries: [q('sum by (presence) (parley_agents{service="availability"})', '{{presence}}')] },
          {
            title: 'Queues open and unstaffed',
            unit: 'short',
            queries: [
              q('sum by (queue) (parley_queues_open{service="availability"})', 'open {{queue}}'),
              q('sum by (queue) (parley_queues_unstaffed{service="availability"})', 'unstaffed {{queue}}'),
            ],
          },
          {
            title: 'Invitations',
            unit: 'ops',
            queries: [
              q('sum(rate(parley_invitations_shown_total{service="availability"}[5m]))', 'shown'),
              q('sum by (answer) (rate(parley_invitations_answered_total{service="availability"}[5m]))', '{{answer}}'),
            ],
          },
        ],
      },
      kafka('availability'),
      grpc('availability'),
      runtime('availability'),
    ],
  },
];

/** Grafana's JSON model (schema version 39), two panels a row, a row per section. */
export function grafanaJson(d: Dashboard): Record<string, unknown> {
  const panels: Record<string, unknown>[] = [];
  let id = 1;
  let y = 0;
  for (const section of d.sections) {
    panels.push({ type: 'row', id: id++, title: section.title, collapsed: false, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] });
    y += 1;
    section.panels.forEach((panel, i) => {
      panels.push({
        type: 'timeseries',
        id: id++,
        title: panel.title,
        ...(panel.description ? { description: panel.description } : {}),
        datasource: { type: 'prometheus', uid: '${datasource}' },
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: y + Math.floor(i / 2) * 8 },
        fieldConfig: { defaults: { unit: panel.unit, min: 0 }, overrides: [] },
        options: { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } },
        targets: panel.queries.map((query, n) => ({
          refId: String.fromCharCode(65 + n),
          expr: query.expr,
          legendFormat: query.legend,
          datasource: { type: 'prometheus', uid: '${datasource}' },
        })),
      });
    });
    y += Math.ceil(section.panels.length / 2) * 8;
  }
  return {
    uid: d.uid,
    title: d.title,
    description: d.description,
    tags: ['parley'],
    timezone: 'browser',
    editable: false,
    schemaVersion: 39,
    version: 1,
    refresh: '30s',
    time: { from: 'now-6h', to: 'now' },
    templating: { list: [{ name: 'datasource', label: 'Prometheus', type: 'datasource', query: 'prometheus', current: {}, hide: 0 }] },
    links: [{ title: 'Parley', type: 'dashboards', tags: ['parley'], asDropdown: true }],
    panels,
  };
}

/** Every query of every dashboard, with where it is. */
export function dashboardQueries(): { dashboard: string; panel: string; expr: string }[] {
  return DASHBOARDS.flatMap((d) =>
    d.sections.flatMap((s) => s.panels.flatMap((p) => p.queries.map((query) => ({ dashboard: d.uid, panel: p.title, expr: query.expr })))),
  );
}

/** Metric names a PromQL expression reads (identifiers followed by a selector or a range, minus PromQL's own words). */
export function metricNamesIn(expr: string): string[] {
  const words = new Set([
    'sum',
    'by',
    'rate',
    'increase',
    'histogram_quantile',
    'max',
    'min',
    'avg',
    'count',
    'without',
    'or',
    'and',
    'unless',
    'on',
    'ignoring',
    'vector',
    'le',
  ]);
  const names = new Set<string>();
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{|\[|\)|$|\s)/g)) {
    const name = m[1]!;
    if (words.has(name) || !/^(parley|process|nodejs)_/.test(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Every series name an exposition can answer: its metrics, and a histogram's _bucket, _sum and _count. */
export function exportedSeriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(m[1]!);
    if (m[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${m[1]}${suffix}`);
    if (m[2] === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${m[1]}${suffix}`);
  }
  return names;
}
