// The GatewayAPI router against a real API server with the Gateway API v1.4.1 CRDs. A GitOps
// tool server-side applies an HTTPRoute; the router, running under only the RBAC it needs,
// changes nothing but the weights of the stable and canary backendRefs (appending the canary
// backendRef when the route lacks it), writes nothing when the split is already in place,
// loses no concurrent edit, and fails with errors that say what the route must contain. A
// re-sync from Git behaves as operator/routing/gatewayApi.ts documents. Header routes are
// rules of their own, added and removed without changing any rule Git wrote.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, type KubernetesObject } from '@kubernetes/client-node';
import YAML from 'yaml';
import { ROUTING_FIELD_MANAGER } from '../../../operator/routing/gatewayApi.ts';
import { gatewayApiRouter } from '../../../operator/routing/gatewayApi.ts';
import { routeTarget, routerFor, type RouteTarget } from '../../../operator/routing/router.ts';
import { componentData, serviceAccountWithRules, startCluster, type LocalCluster } from '../../cluster/index.ts';

const NS = 'default';
const GW = 'gateway.networking.k8s.io';
const API = { group: GW, version: 'v1', namespace: NS, plural: 'httproutes' };
/** The GitOps tool's field manager (what Argo CD's server-side apply uses). */
const GITOPS = 'argocd-controller';
/** What the router needs and all it gets: read the route, patch its weights. */
const ROUTER_RULES = [{ apiGroups: [GW], resources: ['httproutes'], verbs: ['get', 'patch'] }];

interface Ref {
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
}
interface Route {
  metadata: { resourceVersion: string; managedFields?: { manager: string; operation: string; fieldsV1: { 'f:spec'?: Record<string, unknown> } }[] };
  spec: { hostnames?: string[]; parentRefs?: unknown[]; rules: { name?: string; matches?: unknown[]; filters?: unknown[]; backendRefs?: Ref[] }[] };
}

/** An HTTPRoute as it sits in Git: everything but the weights belongs to the GitOps tool. */
function gitRoute(name: string, backendRefs: Ref[]): KubernetesObject & { spec: Route['spec'] } {
  return {
    apiVersion: `${GW}/v1`,
    kind: 'HTTPRoute',
    metadata: { name, namespace: NS },
    spec: {
      parentRefs: [{ name: 'web', sectionName: 'http' }],
      hostnames: ['iris.models.example'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v2/models/iris' } }],
          filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-team', value: 'ml' }] } }],
          backendRefs,
        },
        // A second rule to the same model (health probes from the gateway's side) and one
        // to an unrelated backend, which the router must never touch.
        { matches: [{ path: { type: 'Exact', value: '/v2/health/ready' } }], backendRefs },
        { matches: [{ path: { type: 'PathPrefix', value: '/docs' } }], backendRefs: [{ name: 'docs', port: 80 }] },
      ],
    },
  };
}

/** The weights per rule, by backend name. */
function weights(route: Route): Record<string, number | undefined>[] {
  return route.spec.rules.map((r) => Object.fromEntries((r.backendRefs ?? []).map((b) => [b.name, b.weight])));
}

/** The spec with every weight removed: what the GitOps tool owns must not change. */
function withoutWeights(route: Route): unknown {
  return { ...route.spec, rules: route.spec.rules.map((r) => ({ ...r, backendRefs: r.backendRefs?.map(({ weight: _w, ...ref }) => ref) })) };
}

/** Who owns which top-level spec fields, by manager. */
function owners(route: Route): Record<string, string[]> {
  return Object.fromEntries((route.metadata.managedFields ?? []).map((m) => [`${m.manager}/${m.operation}`, Object.keys(m.fieldsV1['f:spec'] ?? {}).sort()]));
}

describe('GatewayAPI router', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  let objects: KubernetesObjectApi;
  let router: ReturnType<typeof gatewayApiRouter>;

  const get = async (name: string): Promise<Route> => (await custom.getNamespacedCustomObject({ ...API, name })) as Route;
  const gitApply = (obj: KubernetesObject & { spec: unknown }, force = false): Promise<KubernetesObject> =>
    objects.patch(obj, undefined, undefined, GITOPS, force, PatchStrategy.ServerSideApply);
  const target = (httpRoute?: string): RouteTarget => routeTarget(NS, 'iris', httpRoute);

  beforeAll(async () => {
    cluster = await startCluster({ crdFiles: [join(componentData('gateway-api'), `${GW}_httproutes.yaml`)] });
    const admin = cluster.kubeConfig();
    custom = admin.makeApiClient(CustomObjectsApi);
    objects = KubernetesObjectApi.makeApiClient(admin);
    const kc = new KubeConfig();
    kc.loadFromFile(await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-router', rules: ROUTER_RULES }));
    router = gatewayApiRouter(kc);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('the premise of the design: the CRD makes spec.rules and backendRefs atomic lists', async () => {
    // Were these ever map-typed, a server-side apply of just the weights would become the
    // better tool: this test is the reminder.
    type Schema = { properties: Record<string, Schema>; items: Schema; 'x-kubernetes-list-type'?: string };
    const crd = JSON.parse(await cluster.kubectlOk(['get', 'crd', `httproutes.${GW}`, '-o', 'json'])) as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
    const rules = crd.spec.versions.find((v) => v.name === 'v1')!.schema.openAPIV3Schema.properties.spec!.properties.rules!;
    expect(rules['x-kubernetes-list-type']).toBe('atomic');
    expect(rules.items.properties.backendRefs!['x-kubernetes-list-type']).toBe('atomic');
  });

  test('at rest the split is already in place: nothing is written and Git keeps sole ownership', async () => {
    await gitApply(gitRoute('iris', [{ name: 'iris-stable', port: 80, weight: 100 }, { name: 'iris-canary', port: 80, weight: 0 }]));
    const before = await get('iris');
    await router.setRoutes(target('iris'), 0);
    const after = await get('iris');
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(owners(after)).toEqual({ [`${GITOPS}/Apply`]: ['f:hostnames', 'f:parentRefs', 'f:rules'] });
    expect(await router.getRoutes(target('iris'))).toEqual({ stable: 100, canary: 0 });
  });

  test('each step sets only the two weights, in every rule that routes to the stable Service', async () => {
    const baseline = await get('iris');
    for (const w of [20, 50, 100, 0]) {
      await router.setRoutes(target('iris'), w);
      const route = await get('iris');
      expect(weights(route)).toEqual([
        { 'iris-stable': 100 - w, 'iris-canary': w },
        { 'iris-stable': 100 - w, 'iris-canary': w },
        { docs: 1 },
      ]);
      expect(withoutWeights(route)).toEqual(withoutWeights(baseline));
      expect(await router.getRoutes(target('iris'))).toEqual({ stable: 100 - w, canary: w });
    }
    // The atomic list moves to the router's manager as a whole; parentRefs and hostnames stay Git's.
    expect(owners(await get('iris'))).toEqual({
      [`${GITOPS}/Apply`]: ['f:hostnames', 'f:parentRefs'],
      [`${ROUTING_FIELD_MANAGER}/Update`]: ['f:rules'],
    });
  });

  test('setting the split in place again writes nothing', async () => {
    await router.setRoutes(target('iris'), 20);
    const rv = (await get('iris')).metadata.resourceVersion;
    await router.setRoutes(target('iris'), 20);
    expect((await get('iris')).metadata.resourceVersion).toBe(rv);
  });

  test('a re-sync from Git: a plain apply conflicts, a forced apply restores Git, the next reconcile sets the weights again', async () => {
    const git = gitRoute('iris', [{ name: 'iris-stable', port: 80, weight: 100 }, { name: 'iris-canary', port: 80, weight: 0 }]);
    await expect(gitApply(git)).rejects.toMatchObject({ code: 409, body: expect.stringContaining(`conflict with \\"${ROUTING_FIELD_MANAGER}\\"`) });
    expect(weights(await get('iris'))[0]).toEqual({ 'iris-stable': 80, 'iris-canary': 20 });

    // Argo CD's and Flux's server-side applies force: Git's split is back, and so is Git's ownership.
    await gitApply(git, true);
    let route = await get('iris');
    expect(weights(route)[0]).toEqual({ 'iris-stable': 100, 'iris-canary': 0 });
    expect(owners(route)[`${GITOPS}/Apply`]).toEqual(['f:hostnames', 'f:parentRefs', 'f:rules']);
    await router.setRoutes(target('iris'), 20);
    expect(weights(await get('iris'))[0]).toEqual({ 'iris-stable': 80, 'iris-canary': 20 });

    // kubectl's client-side apply (Argo CD's default) replaces the atomic list the same way.
    await cluster.kubectlOk(['apply', '-f', '-'], { input: YAML.stringify(git) });
    route = await get('iris');
    expect(weights(route)[0]).toEqual({ 'iris-stable': 100, 'iris-canary': 0 });
    await router.setRoutes(target('iris'), 20);
    route = await get('iris');
    expect(weights(route)[1]).toEqual({ 'iris-stable': 80, 'iris-canary': 20 });
    expect(route.spec.hostnames).toEqual(['iris.models.example']);
  });

  test('an edit racing with a weight change is never lost', async () => {
    for (const [i, w] of [30, 40, 50, 60, 70].entries()) {
      const path = `/v2/models/iris-${i}`;
      await Promise.all([
        router.setRoutes(target('iris'), w),
        custom.patchNamespacedCustomObject({ ...API, name: 'iris', body: [{ op: 'replace', path: '/spec/rules/0/matches/0/path/value', value: path }] }),
      ]);
      const route = await get('iris');
      expect(weights(route)[0]).toEqual({ 'iris-stable': 100 - w, 'iris-canary': w });
      expect(route.spec.rules[0]!.matches).toEqual([{ path: { type: 'PathPrefix', value: path } }]);
    }
  });

  test('a route without the canary backendRef gets one when the canary takes traffic, and not before', async () => {
    const git = gitRoute('solo', [{ name: 'iris-stable', port: 80, weight: 100 }]);
    await gitApply(git);
    const baseline = await get('solo');
    await router.setRoutes(target('solo'), 0);
    expect((await get('solo')).metadata.resourceVersion).toBe(baseline.metadata.resourceVersion);
    expect(await router.getRoutes(target('solo'))).toEqual({ stable: 100, canary: 0 });

    await router.setRoutes(target('solo'), 30);
    let route = await get('solo');
    expect(route.spec.rules[0]!.backendRefs).toEqual([
      { group: '', kind: 'Service', name: 'iris-stable', port: 80, weight: 70 },
      { group: '', kind: 'Service', name: 'iris-canary', port: 80, weight: 30 },
    ]);
    expect(weights(route)[1]).toEqual({ 'iris-stable': 70, 'iris-canary': 30 });
    expect(weights(route)[2]).toEqual({ docs: 1 });
    expect(await router.getRoutes(target('solo'))).toEqual({ stable: 70, canary: 30 });
    const { rules: liveRules, ...liveRest } = route.spec;
    const { rules: baseRules, ...baseRest } = baseline.spec;
    expect(liveRest).toEqual(baseRest);
    expect(liveRules.map((r) => ({ ...r, backendRefs: undefined }))).toEqual(baseRules.map((r) => ({ ...r, backendRefs: undefined })));

    await router.setRoutes(target('solo'), 0);
    expect(weights(await get('solo'))[0]).toEqual({ 'iris-stable': 100, 'iris-canary': 0 });

    // A forced re-sync from Git takes the appended backendRef away again: Git's list wins.
    await gitApply(git, true);
    route = await get('solo');
    expect(weights(route)[0]).toEqual({ 'iris-stable': 100 });
  });

  test('relative weights that already give the split are left as Git wrote them', async () => {
    await gitApply(gitRoute('relative', [{ name: 'iris-stable', port: 80, weight: 4 }, { name: 'iris-canary', port: 80, weight: 1 }]));
    const rv = (await get('relative')).metadata.resourceVersion;
    expect(await router.getRoutes(target('relative'))).toEqual({ stable: 80, canary: 20 });
    await router.setRoutes(target('relative'), 20);
    expect((await get('relative')).metadata.resourceVersion).toBe(rv);
  });

  test('a missing route is an error naming it, for reads and writes', async () => {
    await expect(router.setRoutes(target('absent'), 20)).rejects.toThrow(/^HTTPRoute default\/absent not found: ModelDeployment default\/iris routes its canary through it/);
    await expect(router.getRoutes(target('absent'))).rejects.toThrow('HTTPRoute default/absent not found');
    await expect(router.setRoutes(target(undefined), 20)).rejects.toThrow('ModelDeployment default/iris: GatewayAPI traffic routing needs spec.rollout.trafficRouting.httpRoute');
  });

  test('a route with no backendRef to the stable Service is an error saying what it must contain, and is not written', async () => {
    // A Service of the same name in another namespace is not the stable Service.
    await gitApply({
      ...gitRoute('elsewhere', []),
      spec: { rules: [{ backendRefs: [{ name: 'iris-stable', namespace: 'other', port: 80 }, { name: 'iris-canary', port: 80, weight: 0 }] }] },
    });
    const rv = (await get('elsewhere')).metadata.resourceVersion;
    const message =
      'HTTPRoute default/elsewhere has no backendRef to the stable Service iris-stable: ModelDeployment default/iris needs a rule whose backendRefs include ' +
      '{name: iris-stable, port: 80, weight: 100} (and optionally {name: iris-canary, port: 80, weight: 0})';
    await expect(router.setRoutes(target('elsewhere'), 20)).rejects.toThrow(message);
    await expect(router.getRoutes(target('elsewhere'))).rejects.toThrow(message);
    expect((await get('elsewhere')).metadata.resourceVersion).toBe(rv);
  });

  test('a rule that also sends traffic elsewhere is refused: the weights would not be percentages', async () => {
    await gitApply(gitRoute('shared', [{ name: 'iris-stable', port: 80, weight: 90 }, { name: 'legacy', port: 80, weight: 10 }]));
    const rv = (await get('shared')).metadata.resourceVersion;
    await expect(router.setRoutes(target('shared'), 20)).rejects.toThrow(
      'HTTPRoute default/shared: rule 0 also sends traffic to legacy; a rule that routes to iris-stable may route only to it and iris-canary',
    );
    expect((await get('shared')).metadata.resourceVersion).toBe(rv);
    await expect(router.setRoutes(target('iris'), 101)).rejects.toThrow(RangeError);
    await expect(router.setRoutes(target('iris'), 2.5)).rejects.toThrow(RangeError);
  });

  test('the ReplicaRatio router splits by replicas only: it has no route weight and writes no route', async () => {
    const replicaRatio = routerFor('ReplicaRatio', { kubeConfig: cluster.kubeConfig() });
    const rv = (await get('iris')).metadata.resourceVersion;
    expect(replicaRatio.routeWeight(50)).toBeUndefined();
    expect(replicaRatio.replicas(4, 50)).toMatchObject({ stable: 2, canary: 2 });
    await replicaRatio.setRoutes(target('iris'), 50);
    expect((await get('iris')).metadata.resourceVersion).toBe(rv);
  });

  test('header routes: a rule per weighted rule, narrowed by the header, to the canary alone; in place writes nothing; removed, the route is as Git wrote it', async () => {
    await gitApply(gitRoute('headed', [{ name: 'iris-stable', port: 80, weight: 100 }, { name: 'iris-canary', port: 80, weight: 0 }]));
    const before = await get('headed');
    const testers = { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] };
    const beta = { name: 'beta', match: [{ header: 'x-group', regex: '^beta-' }] };
    await router.setRoutes(target('headed'), 0, undefined, [testers, beta]);
    let route = await get('headed');
    // The CRD's validation admitted the rules as written, and the user's three rules are untouched.
    expect(route.spec.rules.slice(0, 3)).toEqual(before.spec.rules);
    expect(route.spec.rules.slice(3).map((r) => r.name)).toEqual(['siskin-iris.testers', 'siskin-iris.testers.1', 'siskin-iris.beta', 'siskin-iris.beta.1']);
    expect(route.spec.rules[3]).toEqual({
      name: 'siskin-iris.testers',
      matches: [{ path: { type: 'PathPrefix', value: '/v2/models/iris' }, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] }],
      filters: before.spec.rules[0]!.filters,
      backendRefs: [{ group: '', kind: 'Service', name: 'iris-canary', port: 80, weight: 100 }],
    });
    expect(route.spec.rules[5]!.matches).toEqual([{ path: { type: 'PathPrefix', value: '/v2/models/iris' }, headers: [{ name: 'x-group', type: 'RegularExpression', value: '^beta-' }] }]);
    // Already in place (as the API server stored it, defaults and all): nothing is written.
    const rv = route.metadata.resourceVersion;
    await router.setRoutes(target('headed'), 0, undefined, [testers, beta]);
    expect((await get('headed')).metadata.resourceVersion).toBe(rv);
    // A new weight and a removed header route, in one patch.
    await router.setRoutes(target('headed'), 30, undefined, [beta]);
    route = await get('headed');
    expect(route.spec.rules.slice(3).map((r) => r.name)).toEqual(['siskin-iris.beta', 'siskin-iris.beta.1']);
    expect(weights(route)[0]).toEqual({ 'iris-stable': 70, 'iris-canary': 30 });
    // The rollout ends: the route is exactly what Git says.
    await router.setRoutes(target('headed'), 0);
    expect((await get('headed')).spec).toEqual(before.spec);
    // Replica ratio has no route to add header rules to, and says so.
    await expect(routerFor('ReplicaRatio', { kubeConfig: cluster.kubeConfig() }).setRoutes(target('headed'), 0, undefined, [testers])).rejects.toThrow(
      'ModelDeployment default/iris: header routes need spec.rollout.trafficRouting.type GatewayAPI',
    );
  });
});
