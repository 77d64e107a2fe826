import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS, grafanaJson } from './dashboards';

/** `npm run dashboards:write`: the Grafana dashboards into the Helm chart's files. */
export const DASHBOARDS_DIR = join(__dirname, '..', '..', '..', 'helm', 'parley', 'files', 'dashboards');

if (require.main === module) {
  mkdirSync(DASHBOARDS_DIR, { recursive: true });
  for (const d of DASHBOARDS) writeFileSync(join(DASHBOARDS_DIR, `${d.uid}.json`), `${JSON.stringify(grafanaJson(d), null, 2)}\n`);
  console.log(`${DASHBOARDS.length} dashboards written to ${DASHBOARDS_DIR}`);
}
