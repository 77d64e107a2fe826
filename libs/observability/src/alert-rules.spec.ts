import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

const RULES = join(__dirname, '..', '..', '..', 'deploy', 'prometheus');
const promtool = (...args: string[]) => promisify(execFile)(process.env['PARLEY_PROMTOOL'] ?? 'promtool', args, { cwd: RULES });

describe('alerting rules (deploy/prometheus)', () => {
  it('are valid rule files (promtool check rules)', async () => {
    const { stdout } = await promtool('check', 'rules', 'parley.rules.yml');
    assert.match(stdout, /SUCCESS: 11 rules found/);
  });

  it('fire on the series that should fire them, and only those (promtool test rules)', async () => {
    const { stdout } = await promtool('test', 'rules', 'parley.rules.test.yml');
    assert.match(stdout, /SUCCESS/);
  });
});
