// The Helm chart, checked with the real helm and promtool: it lints, renders in every mode,
// grants exactly the operator's declared RBAC, runs the operator with secure defaults and a
// configuration the operator accepts, rejects bad values by name, and ships alerts and
// dashboard queries that Prometheus parses. Installing it on a cluster is the e2e suite's job.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1ClusterRole, V1Deployment, V1EnvVar, V1PodDisruptionBudget, V1Role, V1RoleBinding, V1Service } from '@kubernetes/client-node';
import YAML from 'yaml';
import { CHART_DIR, renderChartFiles } from '../../../tooling/chart.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { ALERT_GROUPS, DEFAULT_RUNBOOK_BASE_URL, prometheusRuleGroups } from '../../../tooling/observability/alerts.ts';
import { DASHBOARD_FILE, modelDashboard } from '../../../tooling/observability/dashboard.ts';
import { allQueries } from '../../../tooling/observability/queries.ts';
import { loadConfig } from '../../../operator/runtime/config.ts';
import { modelDeploymentSpec } from '../../../operator/api/schema.ts';
import { servingDeployment } from '../../../operator/resources/deployment.ts';
import { ENTRY_POINTS } from '../../../operator/resources/image.ts';
import { runCli, type CliResult } from '../../cluster/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const chart = join(root, CHART_DIR);
const RELEASE = 'siskin';
const RELEASE_NS = 'siskin-system';

/** A NetworkPolicy as YAML spells it (client-node's type calls `from` `_from`). */
type NetworkPolicy = K8sObject & { spec: { podSelector: { matchLabels?: Record<string, string> }; policyTypes: string[]; ingress: { from?: unknown[]; ports?: unknown[] }[] } };

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: unknown };

// A plain temp dir: nothing here mounts or starts a process, so the cluster library's
// owner tracking and sweeping of temp dirs is not needed.
const tmp = mkdtempSync(join(tmpdir(), 'siskin-chart-'));
// helm writes its config, cache and data under $HOME by default; keep the test's to itself.
const helmEnv: NodeJS.ProcessEnv = { HELM_CACHE_HOME: join(tmp, 'cache'), HELM_CONFIG_HOME: join(tmp, 'config'), HELM_DATA_HOME: join(tmp, 'data') };

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function helm(args: string[]): Promise<CliResult> {
  return runCli('helm', args, { env: helmEnv, cwd: root });
}

/** `helm template` with --set flags; throws with helm's message when it fails. */
async function render(sets: string[] = []): Promise<K8sObject[]> {
  const r = await helm(['template', RELEASE, chart, '--namespace', RELEASE_NS, ...sets.flatMap((s) => ['--set', s])]);
  if (r.code !== 0) throw new Error(`helm template ${sets.join(' ')} failed: ${r.stderr}`);
  return YAML.parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

function only<T = K8sObject>(objects: K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0] as T;
}

function kinds(objects: K8sObject[]): string[] {
  return objects.map((o) => o.kind).sort();
}

/** The container's env as the kubelet would set it: downward-API fields get the pod's values. */
function resolveEnv(env: V1EnvVar[], pod: { name: string; namespace: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of env) {
    const field = e.valueFrom?.fieldRef?.fieldPath;
    out[e.name] = field === 'metadata.name' ? pod.name : field === 'metadata.namespace' ? pod.namespace : field === 'status.podIP' ? '198.51.100.7' : (e.value ?? '');
  }
  return out;
}

describe('the generated files of the chart', () => {
  test.each(Object.keys(renderChartFiles()))('%s is current (regenerate with npm run gen:chart)', (path) => {
    const onDisk = readFileSync(join(root, path), 'utf8');
    expect(onDisk).toBe(renderChartFiles()[path]);
    // JSON has no comments: the dashboard says it in its description.
    expect(onDisk.slice(0, 400)).toMatch(/[Gg]enerated .*by `npm run gen:chart` — do not edit/);
  });
});

describe('helm lint', () => {
  test.each<[string, string[]]>([
    ['the defaults', []],
    ['namespace-scoped mode with every monitoring object', ['watchNamespace=models', 'serviceMonitor.enabled=true', 'podMonitor.enabled=true', 'prometheusRule.enabled=true']],
  ])('passes with %s', async (_what, sets) => {
    const r = await helm(['lint', chart, '--strict', ...sets.flatMap((s) => ['--set', s])]);
    expect(`${r.stdout}${r.stderr}`).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(r.code).toBe(0);
  });
});

describe('the default install: cluster-wide', () => {
  let objects: K8sObject[];
  let deployment: V1Deployment;
  beforeAll(async () => {
    objects = await render();
    deployment = only<V1Deployment>(objects, 'Deployment');
  });

  test('renders the operator, its RBAC, metrics Service, NetworkPolicy, PodDisruptionBudget and dashboard, and no monitoring CRs', () => {
    // Four ClusterRoles: the operator's and the aggregated view/edit/admin ones (test/integration/gitops/userRoles.test.ts).
    expect(kinds(objects)).toEqual([
      'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRole', 'ClusterRoleBinding', 'ConfigMap', 'Deployment',
      'NetworkPolicy', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount',
    ]);
  });

  test('the ClusterRole grants exactly the rules the operator declares, and no Lease', () => {
    const rules = only<V1ClusterRole>(objects, 'ClusterRole', RELEASE).rules!;
    expect(rules).toEqual(OPERATOR_RULES);
    expect(rules.flatMap((r) => r.resources ?? [])).not.toContain('leases');
  });

  test('the leader-election Lease rules are a Role in the release namespace only', () => {
    const role = only<V1Role>(objects, 'Role', 'siskin-leader-election');
    expect(role.metadata!.namespace).toBe(RELEASE_NS);
    expect(role.rules).toEqual(LEADER_ELECTION_RULES);
    const binding = only<V1RoleBinding>(objects, 'RoleBinding', 'siskin-leader-election');
    expect(binding.metadata!.namespace).toBe(RELEASE_NS);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'siskin-leader-election' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: only(objects, 'ServiceAccount').metadata.name, namespace: RELEASE_NS }]);
  });

  test('the NetworkPolicy admits only Prometheus on the port that serves /metrics and the probes, and anyone on the activator ports', () => {
    const policy = only<NetworkPolicy>(objects, 'NetworkPolicy');
    expect(policy.metadata.namespace).toBe(RELEASE_NS);
    expect(policy.spec.podSelector.matchLabels).toEqual(deployment.spec!.selector.matchLabels);
    expect(policy.spec.policyTypes).toEqual(['Ingress']);
    const [rule, activator, ...more] = policy.spec.ingress;
    expect(more).toEqual([]);
    // Scale to zero: whoever may call a model's pods may call the activator while it is at zero.
    expect(activator).toEqual({ ports: [{ port: 9400, endPort: 9499, protocol: 'TCP' }] });
    expect(rule!.from).toEqual([
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } },
    ]);
    expect(rule!.ports).toEqual([{ port: 'http', protocol: 'TCP' }]);
    const c = deployment.spec!.template.spec!.containers[0]!;
    expect(c.ports!.map((p) => p.name)).toEqual(['http']);
    expect(c.readinessProbe!.httpGet!.port).toBe('http');
  });

  test("the ClusterRoleBinding binds it to the operator's ServiceAccount", () => {
    const binding = only<V1RoleBinding>(objects, 'ClusterRoleBinding');
    const sa = only(objects, 'ServiceAccount');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: only(objects, 'ClusterRole', RELEASE).metadata.name });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: sa.metadata.name, namespace: RELEASE_NS }]);
    expect(deployment.spec!.template.spec!.serviceAccountName).toBe(sa.metadata.name);
  });

  test('the CRD ships in crds/, which Helm installs first and never deletes on uninstall', async () => {
    const r = await helm(['show', 'crds', chart]);
    expect(r.code).toBe(0);
    const crd = YAML.parse(r.stdout) as K8sObject;
    expect(crd.metadata.name).toBe('modeldeployments.siskin.dev');
    expect(readFileSync(join(root, CHART_DIR, 'crds/siskin.dev_modeldeployments.yaml'), 'utf8')).toContain(readFileSync(join(root, 'crds/siskin.dev_modeldeployments.yaml'), 'utf8').split('\n').slice(1).join('\n'));
  });

  test('two replicas with leader election, spread over nodes and zones, with a PodDisruptionBudget of minAvailable 1', () => {
    const spec = deployment.spec!;
    expect(spec.replicas).toBe(2);
    const tsc = spec.template.spec!.topologySpreadConstraints!;
    expect(tsc.map((c) => c.topologyKey)).toEqual(['kubernetes.io/hostname', 'topology.kubernetes.io/zone']);
    for (const c of tsc) expect(c.labelSelector!.matchLabels).toEqual(spec.selector.matchLabels);
    const pdb = only<V1PodDisruptionBudget>(objects, 'PodDisruptionBudget');
    expect(pdb.spec!.minAvailable).toBe(1);
    expect(pdb.spec!.selector!.matchLabels).toEqual(spec.selector.matchLabels);
  });

  test('the pod runs as the numeric non-root user 65532 with a read-only root, RuntimeDefault seccomp, no privilege escalation and no capabilities', () => {
    const pod = deployment.spec!.template.spec!;
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    const [c, ...rest] = pod.containers;
    expect(rest).toEqual([]);
    expect(c!.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    const tmpMount = c!.volumeMounts!.find((m) => m.mountPath === '/tmp')!;
    expect(pod.volumes!.find((v) => v.name === tmpMount.name)!.emptyDir).toBeDefined();
    expect(c!.resources!.requests).toMatchObject({ cpu: expect.any(String), memory: expect.any(String) });
  });

  test("probes hit the operator's /healthz and /readyz on the port it serves", () => {
    const c = deployment.spec!.template.spec!.containers[0]!;
    const env = resolveEnv(c.env!, { name: 'p', namespace: RELEASE_NS });
    const port = c.ports!.find((p) => p.name === 'http')!;
    expect(String(port.containerPort)).toBe(env.SISKIN_HTTP_PORT);
    expect(c.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe!.httpGet).toEqual({ path: '/healthz', port: 'http' });
  });

  test('the operator accepts its configuration: cluster-wide, Lease in the release namespace, serving pods on its own image', () => {
    const c = deployment.spec!.template.spec!.containers[0]!;
    expect(c.args).toEqual([ENTRY_POINTS.operator.bundle]);
    const env = resolveEnv(c.env!, { name: 'siskin-abc', namespace: RELEASE_NS });
    expect(c.env!.find((e) => e.name === 'POD_NAME')!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.name');
    expect(c.env!.find((e) => e.name === 'POD_NAMESPACE')!.valueFrom!.fieldRef!.fieldPath).toBe('metadata.namespace');
    const config = loadConfig(env);
    expect(config.watchNamespace).toBeUndefined();
    expect(config.leaderElection).toMatchObject({ enabled: true, leaseNamespace: RELEASE_NS, leaseName: deployment.metadata!.name });
    expect(config.leaderElection.identity).toMatch(/^siskin-abc_/);
    expect(config.defaultServingImage).toBe(c.image);
    // Scale to zero: the activator listens on the pod's own IP, which the EndpointSlices name.
    expect(c.env!.find((e) => e.name === 'SISKIN_ACTIVATOR_ADDRESS')!.valueFrom!.fieldRef!.fieldPath).toBe('status.podIP');
    expect(config.activator).toEqual({ address: '198.51.100.7', ports: { first: 9400, last: 9499 }, holdTimeoutMs: 120_000 });
  });

  test('the metrics Service selects the operator pods on the http port', () => {
    const svc = only<V1Service>(objects, 'Service');
    expect(svc.spec!.selector).toEqual(deployment.spec!.selector.matchLabels);
    expect(svc.spec!.ports).toEqual([{ name: 'http-metrics', port: 8080, targetPort: 'http', protocol: 'TCP' }]);
  });

  test("the dashboard ConfigMap carries the Grafana sidecar's label and the generated dashboard", () => {
    const cm = only<K8sObject & { data: Record<string, string> }>(objects, 'ConfigMap');
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(JSON.parse(cm.data[DASHBOARD_FILE]!)).toEqual(JSON.parse(JSON.stringify(modelDashboard())));
  });
});

describe('namespace-scoped install (watchNamespace)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(['watchNamespace=models', 'podMonitor.enabled=true']);
  });

  test('creates nothing cluster-scoped', () => {
    expect(kinds(objects).filter((k) => k.startsWith('Cluster'))).toEqual([]);
  });

  test("grants the operator's rules in the watched namespace only", () => {
    const role = only<V1Role>(objects, 'Role', 'siskin');
    expect(role.metadata!.namespace).toBe('models');
    expect(role.rules).toEqual(OPERATOR_RULES);
    const binding = only<V1RoleBinding>(objects, 'RoleBinding', 'siskin');
    expect(binding.metadata!.namespace).toBe('models');
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'siskin' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'siskin', namespace: RELEASE_NS }]);
  });

  test('grants the leader-election Lease rules in the release namespace', () => {
    const role = only<V1Role>(objects, 'Role', 'siskin-leader-election');
    expect(role.metadata!.namespace).toBe(RELEASE_NS);
    expect(role.rules).toEqual(LEADER_ELECTION_RULES);
    expect(only<V1RoleBinding>(objects, 'RoleBinding', 'siskin-leader-election').metadata!.namespace).toBe(RELEASE_NS);
  });

  test('the operator watches that namespace and keeps its Lease in its own', () => {
    const c = only<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    const config = loadConfig(resolveEnv(c.env!, { name: 'p', namespace: RELEASE_NS }));
    expect(config.watchNamespace).toBe('models');
    expect(config.leaderElection.leaseNamespace).toBe(RELEASE_NS);
  });

  test('the PodMonitor scrapes serving pods in the watched namespace only', () => {
    const pm = only<K8sObject & { spec: { namespaceSelector: unknown } }>(objects, 'PodMonitor');
    expect(pm.spec.namespaceSelector).toEqual({ matchNames: ['models'] });
  });
});

describe('the NetworkPolicy', () => {
  test('names the Prometheus it admits by values', async () => {
    const objects = await render(['networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.team=observability', 'operator.activator.enabled=false']);
    expect(only<NetworkPolicy>(objects, 'NetworkPolicy').spec.ingress).toEqual([
      { from: [{ namespaceSelector: { matchLabels: { team: 'observability' } } }], ports: [{ port: 'http', protocol: 'TCP' }] },
    ]);
  });

  test('with no peers admits nothing', async () => {
    const objects = await render(['networkPolicy.metricsFrom=null', 'operator.activator.enabled=false']);
    expect(only<NetworkPolicy>(objects, 'NetworkPolicy').spec.ingress).toEqual([]);
  });

  test('is off with networkPolicy.enabled=false', async () => {
    expect(kinds(await render(['networkPolicy.enabled=false']))).not.toContain('NetworkPolicy');
  });
});

describe('monitoring objects (Prometheus Operator)', () => {
  let objects: K8sObject[];
  beforeAll(async () => {
    objects = await render(['serviceMonitor.enabled=true', 'podMonitor.enabled=true', 'prometheusRule.enabled=true']);
  });

  test('the ServiceMonitor scrapes the metrics Service and keeps the ModelDeployments\' namespace label', () => {
    const sm = only<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Record<string, unknown>[]; namespaceSelector: unknown } }>(objects, 'ServiceMonitor');
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    const svc = only<V1Service>(objects, 'Service');
    expect(svc.metadata!.labels).toMatchObject(sm.spec.selector.matchLabels);
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: [RELEASE_NS] });
    expect(sm.spec.endpoints).toEqual([expect.objectContaining({ port: svc.spec!.ports![0]!.name, path: '/metrics', honorLabels: true })]);
  });

  test("the PodMonitor selects the serving pods the operator builds, on their metrics port and path", () => {
    const pm = only<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; podMetricsEndpoints: { port: string; path: string }[]; namespaceSelector: unknown } }>(objects, 'PodMonitor');
    const spec = modelDeploymentSpec.parse({ model: { uri: 'https://m.example/iris/1.onnx', sha256: 'a'.repeat(64), version: '1' } });
    const pod = servingDeployment({ name: 'iris', namespace: 'ml', uid: 'u' }, spec, 'abc123', 1, { defaultImage: 'siskin:0.1.0' }).spec!.template;
    expect(pod.metadata!.labels).toMatchObject(pm.spec.selector.matchLabels);
    expect(pm.spec.namespaceSelector).toEqual({ any: true });
    const [endpoint, ...more] = pm.spec.podMetricsEndpoints;
    expect(more).toEqual([]);
    expect(pod.spec!.containers.flatMap((c) => c.ports ?? []).map((p) => p.name)).toContain(endpoint!.port);
    expect(pod.metadata!.annotations!['prometheus.io/path']).toBe(endpoint!.path);
  });

  test('the PrometheusRule carries every alert of alerts.ts, with Prometheus templates intact and runbook links', () => {
    const rule = only<K8sObject & { spec: { groups: unknown[] } }>(objects, 'PrometheusRule');
    expect(rule.spec.groups).toEqual(prometheusRuleGroups(DEFAULT_RUNBOOK_BASE_URL));
  });

  test('promtool accepts its rules', async () => {
    const rule = only<K8sObject & { spec: unknown }>(objects, 'PrometheusRule');
    const file = join(tmp, 'prometheusrule-spec.yaml');
    writeFileSync(file, YAML.stringify(rule.spec));
    const r = await runCli('promtool', ['check', 'rules', file]);
    expect(`${r.stdout}${r.stderr}`).toContain('SUCCESS');
    expect(r.code).toBe(0);
  });

  test('alerts can be switched off by name and labelled for routing', async () => {
    const rendered = await render([
      'prometheusRule.enabled=true',
      'prometheusRule.disabledAlerts={SiskinCanaryStuck,SiskinReconcileErrors}',
      'prometheusRule.additionalAlertLabels.team=ml-platform',
      'prometheusRule.runbookBaseUrl=https://wiki.example/siskin',
    ]);
    const groups = only<K8sObject & { spec: { groups: { name: string; rules: { alert: string; labels: Record<string, string>; annotations: Record<string, string> }[] }[] } }>(rendered, 'PrometheusRule').spec.groups;
    const alerts = groups.flatMap((g) => g.rules);
    expect(groups.map((g) => g.name)).not.toContain('siskin-operator');
    expect(alerts.map((a) => a.alert)).not.toContain('SiskinCanaryStuck');
    expect(alerts.length).toBe(ALERT_GROUPS.flatMap((g) => g.rules).length - 2);
    for (const a of alerts) {
      expect(a.labels).toEqual({ severity: expect.any(String), team: 'ml-platform' });
      expect(a.annotations.runbook_url).toMatch(/^https:\/\/wiki\.example\/siskin#siskin/);
    }
  });

  test('the schema knows exactly the alerts that exist, so a misspelt disabledAlerts entry fails', () => {
    const schema = JSON.parse(readFileSync(join(chart, 'values.schema.json'), 'utf8')) as { properties: { prometheusRule: { properties: { disabledAlerts: { items: { enum: string[] } } } } } };
    expect(schema.properties.prometheusRule.properties.disabledAlerts.items.enum.sort()).toEqual(ALERT_GROUPS.flatMap((g) => g.rules.map((r) => r.alert)).sort());
  });

  test("values.yaml's runbookBaseUrl is the one alerts.ts documents", () => {
    const values = YAML.parse(readFileSync(join(chart, 'values.yaml'), 'utf8')) as { prometheusRule: { runbookBaseUrl: string } };
    expect(values.prometheusRule.runbookBaseUrl).toBe(DEFAULT_RUNBOOK_BASE_URL);
  });
});

describe('bad values fail before anything is installed, naming the value', () => {
  test.each<[string, RegExp]>([
    ['replicaCount=two', /replicaCount.*got string, want integer/],
    ['replicaCoun=2', /additional properties 'replicaCoun' not allowed/],
    ['image.tagg=1.0', /\/image.*additional properties 'tagg' not allowed/],
    ['operator.logLevel=verbose', /\/operator\/logLevel.*must be one of/],
    ['watchNamespace=Models_Prod', /\/watchNamespace/],
    ['operator.defaultPrometheusAddress=prometheus:9090', /\/operator\/defaultPrometheusAddress/],
    ['operator.defaultPrometheusAddress=http://internal-svc/admin/secret#', /\/operator\/defaultPrometheusAddress/],
    ['operator.allowedPrometheusAddresses={http://user:pw@thanos:9090}', /\/operator\/allowedPrometheusAddresses\/0/],
    ['prometheusRule.disabledAlerts={SiskinCanaryStuk}', /\/prometheusRule\/disabledAlerts\/0/],
    ['networkPolicy.enabled=maybe', /\/networkPolicy\/enabled/],
    ['networkPolicy.metricsFrom[0].podSelector.matchLabel.app=prometheus', /\/networkPolicy\/metricsFrom\/0\/podSelector.*additional properties 'matchLabel' not allowed/],
  ])('%s', async (set, message) => {
    const template = await helm(['template', RELEASE, chart, '--set', set]);
    expect(template.code).not.toBe(0);
    expect(template.stderr).toMatch(message);
    const lint = await helm(['lint', chart, '--set', set]);
    expect(lint.code).not.toBe(0);
    expect(lint.stdout).toMatch(message);
  });

  test('the allowed Prometheus addresses reach the operator as one comma-joined variable', async () => {
    const objects = await render(['operator.allowedPrometheusAddresses={http://thanos.monitoring:9090,https://mimir.example/prometheus}']);
    const c = only<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    expect(loadConfig(resolveEnv(c.env!, { name: 'p', namespace: RELEASE_NS })).allowedPrometheusAddresses).toEqual(['http://thanos.monitoring:9090', 'https://mimir.example/prometheus']);
  });

  test('two replicas without leader election fail to render, saying why (helm lint only logs a template fail)', async () => {
    const r = await helm(['template', RELEASE, chart, '--set', 'operator.leaderElection.enabled=false']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/operator\.leaderElection\.enabled=false needs replicaCount <= 1/);
  });

  test('one replica may run without leader election', async () => {
    const objects = await render(['operator.leaderElection.enabled=false', 'replicaCount=1']);
    const c = only<V1Deployment>(objects, 'Deployment').spec!.template.spec!.containers[0]!;
    expect(loadConfig(resolveEnv(c.env!, { name: 'p', namespace: RELEASE_NS })).leaderElection.enabled).toBe(false);
    // A budget of one available pod out of one would block every node drain.
    expect(kinds(objects)).not.toContain('PodDisruptionBudget');
  });
});

describe('every PromQL expression Siskin ships parses', () => {
  /** promtool's verdict on the expressions as recording rules of one group. */
  async function check(queries: { origin: string; expr: string }[], name: string): Promise<CliResult> {
    const file = join(tmp, `${name}.rules.yaml`);
    const rules = queries.map((q, i) => ({ record: `siskin:check:${i}`, expr: q.expr }));
    writeFileSync(file, YAML.stringify({ groups: [{ name: 'siskin-check', rules }] }));
    return runCli('promtool', ['check', 'rules', file]);
  }

  test('alerts and dashboard (promtool check rules)', async () => {
    const queries = allQueries();
    const all = await check(queries, 'all');
    if (all.code !== 0) {
      // Name the culprits by origin rather than by rule index.
      const bad: string[] = [];
      for (const [i, q] of queries.entries()) {
        const one = await check([q], `one-${i}`);
        if (one.code !== 0) bad.push(`${q.origin}: ${q.expr}\n  ${one.stderr.trim() || one.stdout.trim()}`);
      }
      throw new Error(`promtool rejects:\n${bad.join('\n')}`);
    }
    expect(all.stdout).toContain(`SUCCESS: ${queries.length} rules found`);
  });

  test('a typo fails here, not in Grafana', async () => {
    const r = await check([{ origin: 'typo', expr: 'sum by (revision (rate(siskin_requests_total[1m]))' }], 'typo');
    expect(r.code).not.toBe(0);
  });
});
