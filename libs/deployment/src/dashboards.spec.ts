import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { DASHBOARDS, dashboardQueries, grafanaJson, metricNamesIn } from './dashboards';
import { DASHBOARDS_DIR } from './write-dashboards.cli';

const run = promisify(execFile);

describe('Grafana dashboards (helm/parley/files/dashboards)', () => {
  it('are the files npm run dashboards:write writes: an overview and one per service', () => {
    assert.deepEqual(readdirSync(DASHBOARDS_DIR).sort(), [
      'parley-availability.json',
      'parley-history.json',
      'parley-ingress.json',
      'parley-overview.json',
      'parley-routing.json',
    ]);
    for (const d of DASHBOARDS)
      assert.deepEqual(
        JSON.parse(readFileSync(join(DASHBOARDS_DIR, `${d.uid}.json`), 'utf8')),
        grafanaJson(d),
        `${d.uid} is stale: run npm run dashboards:write`,
      );
  });

  it('lay panels out without overlap, with unique ids and a Prometheus data source variable', () => {
    for (const d of DASHBOARDS) {
      const json = grafanaJson(d) as {
        panels: { id: number; gridPos: { x: number; y: number; w: number; h: number } }[];
        templating: { list: { name: string }[] };
      };
      assert.equal(new Set(json.panels.map((p) => p.id)).size, json.panels.length);
      const cells = new Set<string>();
      for (const { gridPos: g } of json.panels) {
        assert.ok(g.x + g.w <= 24, `${d.uid}: inside the 24 columns`);
        for (let x = g.x; x < g.x + g.w; x++)
          for (let y = g.y; y < g.y + g.h; y++) {
            assert.ok(!cells.has(`${x},${y}`), `${d.uid}: panels overlap at ${x},${y}`);
            cells.add(`${x},${y}`);
          }
      }
      assert.deepEqual(
        json.templating.list.map((v) => v.name),
        ['datasource'],
      );
    }
  });

  it('query in PromQL that Prometheus parses (promtool check rules), naming only bounded labels', async () => {
    const queries = dashboardQueries();
    assert.ok(queries.length > 60);
    const dir = mkdtempSync(join(tmpdir(), 'parley-dashboards-'));
    try {
      const file = join(dir, 'queries.yml');
      writeFileSync(
        file,
        YAML.stringify({ groups: [{ name: 'dashboards', rules: queries.map((q, i) => ({ record: `parley:dashboard_query_${i}`, expr: q.expr })) }] }),
      );
      const { stdout } = await run(process.env['PARLEY_PROMTOOL'] ?? 'promtool', ['check', 'rules', file]);
      assert.match(stdout, new RegExp(`SUCCESS: ${queries.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    for (const q of queries)
      assert.doesNotMatch(q.expr, /by \([^)]*(conversation|customer|tenant|visitor|agent_id)/, `${q.dashboard}: ${q.panel} groups by an unbounded label`);
  });

  it('finds the metric names a query reads, and nothing else', () => {
    assert.deepEqual(metricNamesIn('histogram_quantile(0.9, sum by (le, channel) (rate(parley_x_seconds_bucket{service="a"}[5m])))'), [
      'parley_x_seconds_bucket',
    ]);
    assert.deepEqual(metricNamesIn('(sum(parley_agents{presence="online"}) or vector(0)) == 0 and sum(parley_routing_queue_depth) > 0'), [
      'parley_agents',
      'parley_routing_queue_depth',
    ]);
  });
});
