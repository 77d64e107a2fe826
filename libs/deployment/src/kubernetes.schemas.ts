import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv, { type ValidateFunction } from 'ajv';
import YAML from 'yaml';

type Schema = Record<string, unknown>;

const K8S = 'https://schemas.parley.dev/kubernetes';
const OBJECT_META = `${K8S}#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta`;

/**
 * Validates manifests as the API server's schemas describe them: Kubernetes'
 * own OpenAPI v3 documents (api/openapi-spec/v3 of the k8s.io/kubernetes
 * module), CustomResourceDefinitions' openAPIV3Schema (the Prometheus
 * Operator's), and any schema given for a kind without a published CRD. Strict,
 * as kubeconform --strict is: a field the schema does not name is an error
 * (except where Kubernetes preserves unknown fields), so a misspelt key fails.
 */
export class KubernetesSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, code: { regExp: goRegExp } });
  private readonly byKind = new Map<string, string>();
  private readonly compiled = new Map<string, ValidateFunction>();

  constructor(openApiDir: string) {
    const definitions: Record<string, Schema> = {};
    for (const file of readdirSync(openApiDir).filter((f) => f.endsWith('_openapi.json'))) {
      const text = readFileSync(join(openApiDir, file), 'utf8').replaceAll('"#/components/schemas/', '"#/definitions/');
      const doc = JSON.parse(text) as { components?: { schemas?: Record<string, Schema> } };
      for (const [name, schema] of Object.entries(doc.components?.schemas ?? {})) {
        definitions[name] = strict(schema);
        for (const gvk of (schema['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? []) {
          this.byKind.set(key(gvk.group ? `${gvk.group}/${gvk.version}` : gvk.version, gvk.kind), `${K8S}#/definitions/${name}`);
        }
      }
    }
    this.ajv.addSchema({ $id: K8S, definitions });
  }

  /** The schemas of every CustomResourceDefinition in these YAML files. */
  addCrds(files: readonly string[]): this {
    for (const file of files) {
      for (const doc of YAML.parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJSON() as Schema | null)) {
        if (doc?.['kind'] !== 'CustomResourceDefinition') continue;
        const spec = doc['spec'] as { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
        for (const version of spec.versions) this.addKind(`${spec.group}/${version.name}`, spec.names.kind, version.schema.openAPIV3Schema);
      }
    }
    return this;
  }

  /** A custom resource's schema (its metadata is checked as Kubernetes' ObjectMeta). */
  addKind(apiVersion: string, kind: string, schema: Schema): this {
    const id = `https://schemas.parley.dev/crd/${apiVersion}/${kind}`;
    const properties = { ...((schema['properties'] as Record<string, Schema> | undefined) ?? {}), metadata: { $ref: OBJECT_META } };
    this.ajv.addSchema({ ...strict({ ...schema, properties }), $id: id });
    this.byKind.set(key(apiVersion, kind), id);
    return this;
  }

  knows(apiVersion: string, kind: string): boolean {
    return this.byKind.has(key(apiVersion, kind));
  }

  /** What is wrong with one manifest, as `path: message` lines; empty when valid. */
  problems(manifest: Record<string, unknown>): string[] {
    const apiVersion = String(manifest['apiVersion'] ?? '');
    const kind = String(manifest['kind'] ?? '');
    const ref = this.byKind.get(key(apiVersion, kind));
    if (!ref) return [`no schema for ${apiVersion} ${kind}`];
    let validate = this.compiled.get(ref);
    if (!validate) {
      validate = this.ajv.compile({ $ref: ref });
      this.compiled.set(ref, validate);
    }
    if (validate(manifest)) return [];
    // oneOf branches report every branch; keep the errors that say something.
    return (validate.errors ?? [])
      .filter((e) => e.keyword !== 'oneOf' && e.keyword !== 'if')
      .map(
        (e) => `${kind} ${e.instancePath || '/'}: ${e.message}${e.keyword === 'additionalProperties' ? ` (${String(e.params['additionalProperty'])})` : ''}`,
      );
  }
}

/** CRD patterns are Go's RE2: its inline (?i) is JavaScript's i flag (for the whole pattern: close enough for a schema check). */
function goRegExp(pattern: string, flags: string): RegExp {
  return pattern.includes('(?i)') ? new RegExp(pattern.replaceAll('(?i)', ''), `${flags}i`) : new RegExp(pattern, flags);
}
goRegExp.code = 'goRegExp';

function key(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

/** Unknown fields become errors, except where Kubernetes keeps them. */
function strict(schema: unknown): Schema {
  if (Array.isArray(schema)) return schema.map(strict) as unknown as Schema;
  if (schema === null || typeof schema !== 'object') return schema as Schema;
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema))
    out[k] = k === 'properties' ? Object.fromEntries(Object.entries(v as Schema).map(([name, s]) => [name, strict(s)])) : strict(v);
  if (out['properties'] && out['additionalProperties'] === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true)
    out['additionalProperties'] = false;
  return out;
}
