import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jsonSchemas } from '@parley/contracts';

/** Where the committed schemas and the AsyncAPI document live. */
export const CONTRACTS_DIR = join(__dirname, '..', '..', 'contracts');
export const SCHEMAS_DIR = join(CONTRACTS_DIR, 'schemas');
export const ASYNCAPI_FILE = join(CONTRACTS_DIR, 'asyncapi', 'parley.asyncapi.yaml');

export function renderedSchemas(): Record<string, string> {
  return Object.fromEntries(Object.entries(jsonSchemas()).map(([name, schema]) => [`${name}.json`, `${JSON.stringify(schema, null, 2)}\n`]));
}

export function committedSchemas(): Record<string, string> {
  return Object.fromEntries(
    readdirSync(SCHEMAS_DIR)
      .filter((f) => f.endsWith('.json'))
      .map((f) => [f, readFileSync(join(SCHEMAS_DIR, f), 'utf8')]),
  );
}
