/** `npm run schemas:write`: writes libs/contracts/schemas/*.json from the zod contracts. */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCHEMAS_DIR, renderedSchemas } from './index';

mkdirSync(SCHEMAS_DIR, { recursive: true });
for (const f of readdirSync(SCHEMAS_DIR)) if (f.endsWith('.json')) rmSync(join(SCHEMAS_DIR, f));
const schemas = renderedSchemas();
for (const [file, text] of Object.entries(schemas)) writeFileSync(join(SCHEMAS_DIR, file), text);
process.stdout.write(`wrote ${Object.keys(schemas).length} schemas to ${SCHEMAS_DIR}\n`);
