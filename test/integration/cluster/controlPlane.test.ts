// The local control plane: a real etcd + kube-apiserver that serves CRDs, custom objects,
// watches and RBAC, and leaves nothing behind when stopped.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import { ApiextensionsV1Api, CoreV1Api, CustomObjectsApi, RbacAuthorizationV1Api, KubeConfig, Watch } from '@kubernetes/client-node';
import { pidAlive, startCluster, waitFor, httpGet, type LocalCluster } from '../../cluster/index.ts';

const GROUP = 'example.siskin.dev';

describe('local control plane', () => {
  let cluster: LocalCluster;
  let pids: number[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    pids = cluster.processes().map((p) => p.pid);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('serves TLS with its own CA, denies anonymous requests (RBAC) and reports its pinned version', async () => {
    const anonymous = await httpGet(`${cluster.server}/api/v1/namespaces`, { ca: cluster.caPem });
    expect(anonymous.status).toBe(403);
    expect(anonymous.body).toContain('system:anonymous');
    const version = JSON.parse(await cluster.kubectlOk(['version', '-o', 'json'])) as {
      serverVersion: { gitVersion: string };
      clientVersion: { gitVersion: string };
    };
    expect(version.serverVersion.gitVersion).toBe('v1.34.4');
    expect(version.clientVersion.gitVersion).toBe('v1.34.4');
    const svc = await cluster.kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name: 'kubernetes', namespace: 'default' });
    expect(svc.spec?.clusterIP).toBe('198.18.0.1');
  });

  test('applies a CRD, then creates, gets and watches a custom object', async () => {
    const kc = cluster.kubeConfig();
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({
      body: {
        metadata: { name: `widgets.${GROUP}` },
        spec: {
          group: GROUP,
          names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
          scope: 'Namespaced',
          versions: [
            {
              name: 'v1',
              served: true,
              storage: true,
              schema: {
                openAPIV3Schema: {
                  type: 'object',
                  properties: { spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } }, required: ['size'] } },
                },
              },
            },
          ],
        },
      },
    });
    const custom = kc.makeApiClient(CustomObjectsApi);
    await waitFor('Widget CRD established', async () => {
      await custom.listNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets' });
      return true;
    });

    const seen: string[] = [];
    const watchDone = new Promise<void>((resolve, reject) => {
      void new Watch(kc)
        .watch(
          `/apis/${GROUP}/v1/namespaces/default/widgets`,
          {},
          (type: string, obj: { metadata: { name: string } }) => {
            seen.push(`${type} ${obj.metadata.name}`);
            if (seen.includes('ADDED w1')) resolve();
          },
          (err: unknown) => (err ? reject(err as Error) : undefined),
        )
        .then((req) => watchDone.finally(() => req.abort()));
    });

    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: 'v1',
      namespace: 'default',
      plural: 'widgets',
      body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w1' }, spec: { size: 3 } },
    });
    const got = (await custom.getNamespacedCustomObject({ group: GROUP, version: 'v1', namespace: 'default', plural: 'widgets', name: 'w1' })) as {
      spec: { size: number };
    };
    expect(got.spec.size).toBe(3);
    await watchDone;
    expect(seen).toContain('ADDED w1');

    // The structural schema is enforced by the API server, with the field path.
    await expect(
      custom.createNamespacedCustomObject({
        group: GROUP,
        version: 'v1',
        namespace: 'default',
        plural: 'widgets',
        body: { apiVersion: `${GROUP}/v1`, kind: 'Widget', metadata: { name: 'w2' }, spec: { size: 0 } },
      }),
    ).rejects.toThrow(/spec\.size/);
  });

  test('mints a ServiceAccount kubeconfig whose access is exactly what RBAC grants', async () => {
    const saConfig = await cluster.serviceAccountKubeconfig('team-a', 'operator');
    const forbidden = await cluster.kubectl(['get', 'configmaps', '-n', 'team-a'], { kubeconfig: saConfig });
    expect(forbidden.code).not.toBe(0);
    expect(forbidden.stderr).toMatch(/forbidden.*system:serviceaccount:team-a:operator/);

    const rbac = cluster.kubeConfig().makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: 'team-a',
      body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: 'team-a',
      body: {
        metadata: { name: 'cm-reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'operator', namespace: 'team-a' }],
      },
    });
    await cluster.kubectlOk(['create', 'configmap', 'settings', '-n', 'team-a', '--from-literal=k=v']);
    const kc = new KubeConfig();
    kc.loadFromFile(saConfig);
    const list = await waitFor('RBAC grant to take effect', async () => {
      try {
        return await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: 'team-a' });
      } catch {
        return undefined;
      }
    });
    expect(list.items.map((c) => c.metadata?.name)).toContain('settings');
    const otherNs = await cluster.kubectl(['get', 'configmaps', '-n', 'default'], { kubeconfig: saConfig });
    expect(otherNs.code).not.toBe(0);
  });

  test('stop() leaves no process and no working dir behind', async () => {
    const dir = cluster.dir;
    expect(pids.every(pidAlive)).toBe(true);
    await cluster.stop();
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  });
});
