import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll as before, describe, it } from '@jest/globals';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { ASYNCAPI_FILE } from '@parley/contracts-docs';
import { KubernetesSchemas } from './kubernetes.schemas';
import { DASHBOARDS_DIR } from './write-dashboards.cli';

/**
 * The Helm chart, as `npm test` checks it: `helm lint`, then `helm template`
 * with the defaults and with every option on, and every rendered manifest
 * validated against Kubernetes 1.37's OpenAPI schemas, the Prometheus
 * Operator's CRDs and Strimzi's KafkaTopic (scripts/test.sh fetches helm and the
 * schemas from the Go module proxy).
 */
const run = promisify(execFile);
const CHART = join(__dirname, '..', '..', '..', 'helm', 'parley');
const KUBE_VERSION = '1.37.0';
const HELM = process.env['PARLEY_HELM'] ?? 'helm';
const ALL_ON = ['metrics.serviceMonitor.enabled=true', 'metrics.prometheusRule.enabled=true', 'metrics.dashboards.enabled=true', 'kafkaTopics.enabled=true'];

type Manifest = Record<string, unknown> & { kind: string; metadata: { name: string; labels?: Record<string, string> } };
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((v, k) => (v as Record<string | number, unknown> | undefined)?.[k], value);

async function helm(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(HELM, args, { maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

async function render(...sets: string[]): Promise<Manifest[]> {
  const { code, out } = await helm('template', 'demo', CHART, '--kube-version', KUBE_VERSION, ...sets.flatMap((s) => ['--set', s]));
  assert.equal(code, 0, out);
  return manifestsIn(out);
}

/** Strimzi publishes its CRDs in its releases, not in a registry served here: this is its documented KafkaTopic v1beta2 spec. */
const STRIMZI_KAFKA_TOPIC = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: { const: 'kafka.strimzi.io/v1beta2' },
    kind: { const: 'KafkaTopic' },
    spec: {
      type: 'object',
      properties: {
        topicName: { type: 'string', minLength: 1 },
        partitions: { type: 'integer', minimum: 1 },
        replicas: { type: 'integer', minimum: 1, maximum: 32767 },
        config: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true, additionalProperties: { type: ['string', 'number', 'boolean'] } },
      },
    },
    status: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
  },
};

describe('Helm chart (helm/parley)', () => {
  let schemas: KubernetesSchemas;
  before(() => {
    const openApi = process.env['PARLEY_K8S_OPENAPI'];
    const crds = process.env['PARLEY_PROMETHEUS_OPERATOR_CRDS'];
    assert.ok(openApi && crds, 'PARLEY_K8S_OPENAPI and PARLEY_PROMETHEUS_OPERATOR_CRDS name the schema folders (scripts/test.sh sets them)');
    schemas = new KubernetesSchemas(openApi)
      .addCrds(
        readdirSync(crds)
          .filter((f) => /servicemonitors|prometheusrules/.test(f))
          .map((f) => join(crds, f)),
      )
      .addKind('kafka.strimzi.io/v1beta2', 'KafkaTopic', STRIMZI_KAFKA_TOPIC);
  });

  it('passes helm lint --strict, with the defaults and with every option on', async () => {
    for (const sets of [[], ALL_ON]) {
      const { code, out } = await helm('lint', CHART, '--strict', '--kube-version', KUBE_VERSION, ...sets.flatMap((s) => ['--set', s]));
      assert.equal(code, 0, out);
      assert.match(out, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders manifests that validate against Kubernetes 1.37, the Prometheus Operator and Strimzi schemas', async () => {
    const defaults = await render();
    assert.deepEqual(count(defaults), {
      ConfigMap: 1,
      Deployment: 4,
      HorizontalPodAutoscaler: 4,
      NetworkPolicy: 4,
      PodDisruptionBudget: 4,
      Service: 4,
      ServiceAccount: 1,
    });
    const everything = await render(...ALL_ON);
    assert.deepEqual(count(everything), {
      ConfigMap: 6,
      Deployment: 4,
      HorizontalPodAutoscaler: 4,
      KafkaTopic: 24,
      NetworkPolicy: 4,
      PodDisruptionBudget: 4,
      PrometheusRule: 1,
      Service: 4,
      ServiceAccount: 1,
      ServiceMonitor: 1,
    });
    for (const manifest of [...defaults, ...everything]) assert.deepEqual(schemas.problems(manifest), [], `${manifest.kind} ${manifest.metadata.name}`);
  });

  it('has a validator that does fail: a misspelt field, a wrong type, a missing required field', async () => {
    const deployment = (await render()).find((m) => m.kind === 'Deployment')!;
    const broken = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
    broken.spec['replica'] = 2;
    assert.match(schemas.problems(broken).join('\n'), /additional properties \(replica\)/);
    const wrongType = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
    wrongType.spec['replicas'] = 'two';
    assert.match(schemas.problems(wrongType).join('\n'), /\/spec\/replicas: must be integer/);
    const noSelector = structuredClone(deployment) as Manifest & { spec: Record<string, unknown> };
    delete noSelector.spec['selector'];
    assert.match(schemas.problems(noSelector).join('\n'), /must have required property 'selector'/);
  });

  it('runs every pod non-root on a read-only root file system, with probes, limits and every workload scaled out', async () => {
    const manifests = await render(...ALL_ON);
    const deployments = manifests.filter((m) => m.kind === 'Deployment');
    for (const d of deployments) {
      const pod = at(d, 'spec', 'template', 'spec') as Record<string, unknown>;
      assert.equal(at(pod, 'securityContext', 'runAsNonRoot'), true, d.metadata.name);
      assert.equal(at(pod, 'automountServiceAccountToken'), false);
      const container = at(pod, 'containers', 0) as Record<string, unknown>;
      assert.deepEqual(at(container, 'securityContext'), {
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ['ALL'] },
      });
      assert.equal(at(container, 'readinessProbe', 'httpGet', 'path'), '/readyz');
      assert.equal(at(container, 'livenessProbe', 'httpGet', 'path'), '/healthz');
      assert.ok(at(container, 'resources', 'requests', 'memory') && at(container, 'resources', 'limits', 'memory'), 'requests and limits');
      assert.deepEqual(
        at(d, 'spec', 'selector', 'matchLabels'),
        pick(at(d, 'spec', 'template', 'metadata', 'labels') as Record<string, string>, ['app.kubernetes.io/instance', 'app.kubernetes.io/name']),
      );
    }
    const env = (name: string) =>
      Object.fromEntries(
        (
          at(
            deployments.find((d) => d.metadata.name === `demo-parley-${name}`),
            'spec',
            'template',
            'spec',
            'containers',
            0,
            'env',
          ) as { name: string; value?: string }[]
        ).map((e) => [e.name, e.value]),
      );
    // Replies are sent by every ingress replica, each for the conversations of its partitions; nothing runs as a single replica.
    assert.equal(env('ingress')['PARLEY_INGRESS_OUTBOUND'], undefined);
    assert.deepEqual(
      deployments.filter((d) => at(d, 'spec', 'strategy', 'type') !== 'RollingUpdate').map((d) => d.metadata.name),
      [],
    );

    // Every Service, HPA, PDB and NetworkPolicy points at a Deployment that exists.
    const podLabels = deployments.map((d) => at(d, 'spec', 'template', 'metadata', 'labels') as Record<string, string>);
    const selects = (selector: Record<string, string>) => podLabels.filter((labels) => Object.entries(selector).every(([k, v]) => labels[k] === v)).length;
    for (const m of manifests) {
      if (m.kind === 'Service') assert.equal(selects(at(m, 'spec', 'selector') as Record<string, string>), 1, m.metadata.name);
      if (m.kind === 'PodDisruptionBudget' || m.kind === 'NetworkPolicy')
        assert.equal(
          selects(at(m, 'spec', m.kind === 'NetworkPolicy' ? 'podSelector' : 'selector', 'matchLabels') as Record<string, string>),
          1,
          m.metadata.name,
        );
      if (m.kind === 'HorizontalPodAutoscaler')
        assert.ok(
          deployments.some((d) => d.metadata.name === at(m, 'spec', 'scaleTargetRef', 'name')),
          m.metadata.name,
        );
    }
    assert.deepEqual(
      manifests
        .filter((m) => m.kind === 'HorizontalPodAutoscaler')
        .map((m) => m.metadata.name)
        .sort(),
      // Availability scales too: presence is shared over Kafka and its sweeps run under leases.
      ['demo-parley-availability', 'demo-parley-history', 'demo-parley-ingress', 'demo-parley-routing'],
    );
  });

  it('ships the tested alert rules, the dashboards and a topic for every topic of the AsyncAPI document', async () => {
    const manifests = await render(...ALL_ON);
    const rules = YAML.parse(readFileSync(join(CHART, 'files', 'parley.rules.yml'), 'utf8')) as { groups: unknown[] };
    assert.deepEqual(
      at(
        manifests.find((m) => m.kind === 'PrometheusRule'),
        'spec',
        'groups',
      ),
      rules.groups,
    );
    const dashboards = manifests.filter((m) => m.kind === 'ConfigMap' && m.metadata.labels?.['grafana_dashboard'] === '1');
    assert.deepEqual(dashboards.map((m) => Object.keys(m['data'] as object)[0]).sort(), readdirSync(DASHBOARDS_DIR).sort());
    for (const m of dashboards) {
      const [file, text] = Object.entries(m['data'] as Record<string, string>)[0]!;
      assert.deepEqual(JSON.parse(text), JSON.parse(readFileSync(join(DASHBOARDS_DIR, file), 'utf8')));
    }
    const topics = new Set(manifests.filter((m) => m.kind === 'KafkaTopic').map((m) => at(m, 'spec', 'topicName')));
    const documented = Object.values((YAML.parse(readFileSync(ASYNCAPI_FILE, 'utf8')) as { channels: Record<string, { address: string }> }).channels).map(
      (c) => c.address,
    );
    assert.deepEqual(
      documented.filter((t) => !topics.has(t)),
      [],
      'topics documented but not created',
    );
  });

  it('ships the default rendering as plain manifests (deploy/kubernetes/parley.yaml), current and valid', async () => {
    const file = join(CHART, '..', '..', 'deploy', 'kubernetes', 'parley.yaml');
    const committed = manifestsIn(readFileSync(file, 'utf8'));
    const { code, out } = await helm('template', 'parley', CHART, '--kube-version', KUBE_VERSION);
    assert.equal(code, 0, out);
    const rendered = manifestsIn(out);
    assert.deepEqual(committed, rendered, 'deploy/kubernetes/parley.yaml is stale: run npm run manifests:write');
    for (const manifest of committed) assert.deepEqual(schemas.problems(manifest), [], `${manifest.kind} ${manifest.metadata.name}`);
  });

  it('refuses values that would break it, with the path in the message, and renders nothing', async () => {
    for (const [set, path] of [
      ['services.routing.replicas=20', '/services/routing'],
      ['services.availability.replicas=0', '/services/availability'],
      ['services.outbound.replicas=1', "additional properties 'outbound' not allowed"],
      ['secrets.masterKey.name=', '/secrets/masterKey/name'],
      ['config.kafkaBrokers=not a broker list', '/config/kafkaBrokers'],
      ['replicas=3', "additional properties 'replicas' not allowed"],
    ] as const) {
      const { code, out } = await helm('template', 'demo', CHART, '--kube-version', KUBE_VERSION, '--set', set);
      assert.notEqual(code, 0, set);
      assert.ok(out.includes(path), `${set}: ${out}`);
      assert.doesNotMatch(out, /^kind:/m);
    }
  });
});

function manifestsIn(text: string): Manifest[] {
  return YAML.parseAllDocuments(text)
    .map((d) => d.toJSON() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

function count(manifests: readonly Manifest[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of manifests) out[m.kind] = (out[m.kind] ?? 0) + 1;
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function pick(labels: Record<string, string>, keys: readonly string[]): Record<string, string> {
  return Object.fromEntries(keys.map((k) => [k, labels[k]!]));
}
