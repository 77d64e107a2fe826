import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';

/** The alerting rules the chart ships and promtool tests (deploy/prometheus/ links to it). */
export const RULES_FILE = join(__dirname, '..', '..', '..', 'helm', 'parley', 'files', 'parley.rules.yml');

export function alertExpressions(): { alert: string; expr: string }[] {
  const doc = YAML.parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert: string; expr: string }[] }[] };
  return doc.groups.flatMap((g) => g.rules.map((r) => ({ alert: r.alert, expr: r.expr })));
}
