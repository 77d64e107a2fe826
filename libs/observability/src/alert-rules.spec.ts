import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, it } from '@jest/globals';
import { promisify } from 'node:util';

const RULES = join(__dirname, '..', '..', '..', 'deploy', 'prometheus');
const promtool = (...args: string[]) => promisify(execFile)(process.env['PARLEY_PROMTOOL'] ?? 'promtool', args, { cwd: RULES });

describe('alerting rules (deploy/prometheus)', () => {
  const alerts = (YAML.parse(readFileSync(join(RULES, 'parley.rules.yml'), 'utf8')) as { groups: { rules: { alert: string }[] }[] }).groups.flatMap((g) =>
    g.rules.map((r) => r.alert),
  );

  it('are valid rule files (promtool check rules)', async () => {
    const { stdout } = await promtool('check', 'rules', 'parley.rules.yml');
    assert.match(stdout, new RegExp(`SUCCESS: ${alerts.length} rules found`));
  });

  it('each have a unit test', () => {
    const tests = readFileSync(join(RULES, 'parley.rules.test.yml'), 'utf8');
    assert.deepEqual(
      alerts.filter((a) => !tests.includes(`alertname: ${a}`)),
      [],
    );
  });

  it('fire on the series that should fire them, and only those (promtool test rules)', async () => {
    const { stdout } = await promtool('test', 'rules', 'parley.rules.test.yml');
    assert.match(stdout, /SUCCESS/);
  });
});
