// The chart's aggregated ClusterRoles for people, on a real API server: rendered by the real
// helm, applied, and folded into the built-in view/edit/admin roles by kube-controller-manager's
// clusterrole-aggregation controller. A namespace's edit user creates ModelDeployments and
// drives them with the real kubectl-siskin plugin; a view user reads them and nothing more;
// neither reaches another namespace, and nobody but the operator writes status.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RbacAuthorizationV1Api, type V1ClusterRole } from '@kubernetes/client-node';
import YAML from 'yaml';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { aggregationLabel, USER_ROLES } from '../../../operator/api/rbac.ts';
import { CHART_DIR } from '../../../tooling/chart.ts';
import { startCluster, waitFor, type CliResult, type LocalCluster } from '../../cluster/index.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const BIN_DIR = join(root, 'bin');
const RELEASE = 'siskin';
const TEAM = 'team-a';
const OTHER = 'team-b';
const EDITOR = `system:serviceaccount:${TEAM}:alice`;
const VIEWER = `system:serviceaccount:${TEAM}:bob`;

type K8sObject = { kind: string; metadata: { name: string; labels?: Record<string, string> } };

const modelDeployment = (name: string): string =>
  JSON.stringify({
    apiVersion: 'siskin.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name },
    spec: { model: { uri: 'file:///models/iris-1.onnx', version: '1' }, replicas: 1 },
  });

describe("the chart's aggregated roles for people", () => {
  let cluster: LocalCluster;
  let rendered: K8sObject[];
  const aggregated = (objects: K8sObject[]): K8sObject[] => objects.filter((o) => o.kind === 'ClusterRole' && o.metadata.name.includes('-aggregate-to-'));
  const render = async (sets: string[] = []): Promise<K8sObject[]> => {
    const r = await cluster.helm(['template', RELEASE, join(root, CHART_DIR), '--namespace', 'siskin-system', ...sets.flatMap((s) => ['--set', s])]);
    if (r.code !== 0) throw new Error(`helm template ${sets.join(' ')} failed: ${r.stderr}`);
    return YAML.parseAllDocuments(r.stdout)
      .map((d) => d.toJS() as K8sObject | null)
      .filter((o): o is K8sObject => o !== null);
  };
  /** `kubectl auth can-i` as a user: true for "yes". */
  const can = async (user: string, verb: string, resource: string, namespace: string): Promise<boolean> => {
    const [res, sub] = resource.split('/');
    const r = await cluster.kubectl(['auth', 'can-i', verb, `${res}.siskin.dev`, '-n', namespace, `--as=${user}`, ...(sub ? [`--subresource=${sub}`] : [])]);
    if (r.stdout.trim() !== 'yes' && r.stdout.trim() !== 'no') throw new Error(`kubectl auth can-i ${verb} ${resource} --as=${user}: ${r.stderr}`);
    return r.stdout.trim() === 'yes';
  };
  let editorConfig: string;
  let viewerConfig: string;
  /** The real kubectl (and the kubectl-siskin plugin on PATH) under a user's own kubeconfig. */
  const as = (kubeconfig: string, args: string[], input?: string): Promise<CliResult> =>
    cluster.kubectl(args, { kubeconfig, ...(input !== undefined ? { input } : {}), env: { PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}` } });
  const ok = (r: CliResult): string => {
    if (r.code !== 0) throw new Error(`exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };
  const annotations = async (): Promise<Record<string, string>> =>
    (JSON.parse(await cluster.kubectlOk(['get', 'md/iris', '-n', TEAM, '-o', 'json'])) as { metadata: { annotations?: Record<string, string> } }).metadata.annotations ?? {};
  const forbidden = (r: CliResult): void => {
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/forbidden/i);
  };

  beforeAll(async () => {
    // The controller-manager runs the clusterrole-aggregation controller that fills view/edit/admin.
    cluster = await startCluster({ controllerManager: true, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    rendered = await render();
    await cluster.kubectlOk(['create', 'namespace', OTHER]);
    // ServiceAccounts are real users with real tokens: the plugin runs under their kubeconfigs.
    editorConfig = await cluster.serviceAccountKubeconfig(TEAM, 'alice');
    viewerConfig = await cluster.serviceAccountKubeconfig(TEAM, 'bob');
    await cluster.kubectlOk(['create', 'rolebinding', 'alice-edit', '-n', TEAM, '--clusterrole=edit', `--serviceaccount=${TEAM}:alice`]);
    await cluster.kubectlOk(['create', 'rolebinding', 'bob-view', '-n', TEAM, '--clusterrole=view', `--serviceaccount=${TEAM}:bob`]);
    // The other team's ModelDeployment, made by the admin.
    await cluster.kubectlOk(['apply', '-n', OTHER, '-f', '-'], { input: modelDeployment('mnist') });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('the chart renders one role per built-in role, labelled to join it, named after the release', () => {
    const roles = aggregated(rendered);
    expect(roles.map((r) => [r.metadata.name, Object.entries(r.metadata.labels ?? {}).filter(([k]) => k.startsWith('rbac.authorization.k8s.io/'))])).toEqual(
      USER_ROLES.map((u) => [`${RELEASE}-aggregate-to-${u.aggregateTo}`, [[aggregationLabel(u.aggregateTo), 'true']]]),
    );
    expect(roles.map((r) => (r as unknown as V1ClusterRole).rules)).toEqual(USER_ROLES.map((u) => u.rules));
  });

  test('rbac.aggregatedRoles=false leaves them out, and so does watchNamespace (nothing cluster-scoped); a non-boolean is refused', async () => {
    expect(aggregated(await render(['rbac.aggregatedRoles=false']))).toEqual([]);
    expect(aggregated(await render(['watchNamespace=ml']))).toEqual([]);
    await expect(render(['rbac.aggregatedRoles=maybe'])).rejects.toThrow(/aggregatedRoles/);
  });

  test('before the roles are installed, the built-in edit role grants nothing on ModelDeployments', async () => {
    expect(await can(EDITOR, 'create', 'modeldeployments', TEAM)).toBe(false);
    expect(await can(VIEWER, 'get', 'modeldeployments', TEAM)).toBe(false);
  });

  test('once applied, the aggregation controller folds them into view, edit and admin', async () => {
    await cluster.kubectlOk(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: aggregated(rendered) }) });
    const rbac = cluster.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    for (const builtIn of ['view', 'edit', 'admin']) {
      await waitFor(`the built-in ${builtIn} role to include ModelDeployments`, async () => {
        const role = await rbac.readClusterRole({ name: builtIn });
        return role.rules?.some((r) => r.apiGroups?.includes('siskin.dev') && r.resources?.includes('modeldeployments')) ? true : undefined;
      }, { timeoutMs: 30_000 });
    }
  });

  test.each<[string, string, string, string, boolean]>([
    ['edit', EDITOR, 'create', 'modeldeployments', true],
    ['edit', EDITOR, 'patch', 'modeldeployments', true],
    ['edit', EDITOR, 'update', 'modeldeployments', true],
    ['edit', EDITOR, 'delete', 'modeldeployments', true],
    ['edit', EDITOR, 'watch', 'modeldeployments', true],
    ['edit', EDITOR, 'patch', 'modeldeployments/scale', true],
    ['edit', EDITOR, 'get', 'modeldeployments/status', true],
    ['edit', EDITOR, 'patch', 'modeldeployments/status', false],
    ['edit', EDITOR, 'update', 'modeldeployments/status', false],
    ['view', VIEWER, 'get', 'modeldeployments', true],
    ['view', VIEWER, 'list', 'modeldeployments', true],
    ['view', VIEWER, 'watch', 'modeldeployments', true],
    ['view', VIEWER, 'get', 'modeldeployments/status', true],
    ['view', VIEWER, 'create', 'modeldeployments', false],
    ['view', VIEWER, 'patch', 'modeldeployments', false],
    ['view', VIEWER, 'update', 'modeldeployments', false],
    ['view', VIEWER, 'delete', 'modeldeployments', false],
    ['view', VIEWER, 'patch', 'modeldeployments/scale', false],
    ['view', VIEWER, 'patch', 'modeldeployments/status', false],
  ])('%s in its namespace: can-i %s %s %s → %s', async (_, user, verb, resource, want) => {
    expect(await can(user, verb, resource, TEAM)).toBe(want);
  });

  test.each<[string, string]>([
    ['edit', EDITOR],
    ['view', VIEWER],
  ])('%s reaches no other namespace', async (_, user) => {
    for (const verb of ['get', 'list', 'create', 'patch', 'delete']) expect(await can(user, verb, 'modeldeployments', OTHER)).toBe(false);
  });

  test('the edit user creates a ModelDeployment and drives it with kubectl siskin and kubectl scale, but cannot write its status', async () => {
    expect(ok(await as(editorConfig, ['apply', '-n', TEAM, '-f', '-'], modelDeployment('iris')))).toBe('modeldeployment.siskin.dev/iris created\n');
    expect(ok(await as(editorConfig, ['siskin', 'pause', 'iris', '-n', TEAM]))).toMatch(/^modeldeployment\.siskin\.dev\/iris paused/);
    expect(ok(await as(editorConfig, ['siskin', 'promote', 'iris', '-n', TEAM]))).toMatch(/promotion requested \(siskin\.dev\/command=promote:\d+\)/);
    expect(await annotations()).toMatchObject({ 'siskin.dev/paused': 'true', 'siskin.dev/command': expect.stringMatching(/^promote:\d+$/) });
    ok(await as(editorConfig, ['siskin', 'abort', 'iris', '-n', TEAM]));
    ok(await as(editorConfig, ['siskin', 'resume', 'iris', '-n', TEAM]));
    const after = await annotations();
    expect(after['siskin.dev/command']).toMatch(/^resume:\d+$/);
    expect(after['siskin.dev/paused']).toBeUndefined();
    ok(await as(editorConfig, ['scale', 'md/iris', '-n', TEAM, '--replicas=3']));
    expect(await cluster.kubectlOk(['get', 'md/iris', '-n', TEAM, '-o', 'jsonpath={.spec.replicas}'])).toBe('3');
    forbidden(await as(editorConfig, ['patch', 'md/iris', '-n', TEAM, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Healthy"}}']));
    forbidden(await as(editorConfig, ['get', 'md/mnist', '-n', OTHER]));
    forbidden(await as(editorConfig, ['siskin', 'promote', 'mnist', '-n', OTHER]));
  });

  test('the view user reads it, with kubectl and kubectl siskin status, and changes nothing', async () => {
    expect(ok(await as(viewerConfig, ['get', 'md', '-n', TEAM, '-o', 'name']))).toBe('modeldeployment.siskin.dev/iris\n');
    expect(ok(await as(viewerConfig, ['siskin', 'status', 'iris', '-n', TEAM]))).toMatch(/^Name: +iris$/m);
    const before = await annotations();
    forbidden(await as(viewerConfig, ['siskin', 'promote', 'iris', '-n', TEAM]));
    forbidden(await as(viewerConfig, ['annotate', '--overwrite', 'md/iris', '-n', TEAM, 'siskin.dev/command=abort:2']));
    forbidden(await as(viewerConfig, ['scale', 'md/iris', '-n', TEAM, '--replicas=1']));
    forbidden(await as(viewerConfig, ['apply', '-n', TEAM, '-f', '-'], modelDeployment('other')));
    forbidden(await as(viewerConfig, ['delete', 'md/iris', '-n', TEAM]));
    forbidden(await as(viewerConfig, ['get', 'md', '-n', OTHER]));
    expect(await annotations()).toEqual(before);
  });

  test('the edit user deletes it', async () => {
    expect(ok(await as(editorConfig, ['delete', 'md/iris', '-n', TEAM]))).toMatch(/^modeldeployment\.siskin\.dev "iris" deleted/);
  });
});
