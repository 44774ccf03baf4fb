// With kube-controller-manager, kube-scheduler and kwok's fake nodes, Deployments converge
// to Ready pods, garbage collection follows owner references, and the real kubectl works.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runCliOk, startCluster, waitFor, type LocalCluster } from '../../cluster/index.ts';

function deployment(name: string, replicas: number): V1Deployment {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          containers: [
            { name: 'app', image: 'siskin.local/never-pulled:1', readinessProbe: { httpGet: { path: '/ready', port: 8080 } } },
          ],
        },
      },
    },
  };
}

describe('local cluster with controllers, scheduler and kwok nodes', () => {
  let cluster: LocalCluster;
  beforeAll(async () => {
    cluster = await startCluster({ controllerManager: true, scheduler: true, kwokNodes: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('fake nodes register Ready', async () => {
    expect(cluster.nodeNames).toEqual(['kwok-node-0', 'kwok-node-1']);
    const out = await cluster.kubectlOk(['get', 'nodes', '-o', 'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}']);
    expect(out.trim().split('\n').sort()).toEqual(['kwok-node-0=True', 'kwok-node-1=True']);
  });

  test('a Deployment becomes Ready pods, scheduled onto the fake nodes with fake pod IPs', async () => {
    const kc = cluster.kubeConfig();
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: 'default', body: deployment('web', 3) });
    // kubectl wait, as a user would: the controllers, scheduler and kwok must all work for this to pass.
    const waited = await cluster.kubectl(['wait', '--for=condition=Available', 'deployment/web', '--timeout=90s']);
    expect(waited.stderr).toBe('');
    expect(waited.stdout).toContain('deployment.apps/web condition met');
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(3);
    for (const pod of pods.items) {
      expect(pod.status?.phase).toBe('Running');
      expect(pod.spec?.nodeName).toMatch(/^kwok-node-[01]$/);
      expect(pod.status?.podIP).toMatch(/^198\.51\.100\./);
      expect(pod.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }
  });

  test('kubectl scale changes the running pod count', async () => {
    await cluster.kubectlOk(['scale', 'deployment/web', '--replicas=1']);
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    await waitFor('web scaled to one pod', async () => {
      const pods = await core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=web' });
      return pods.items.length === 1 ? true : undefined;
    }, { timeoutMs: 60_000 });
    const ready = await cluster.kubectlOk(['get', 'deployment', 'web', '-o', 'jsonpath={.status.readyReplicas}/{.spec.replicas}']);
    expect(ready).toBe('1/1');
  });

  test('deleting the owner garbage-collects its ReplicaSets and pods', async () => {
    const kc = cluster.kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    await apps.createNamespacedDeployment({ namespace: 'default', body: deployment('gc-me', 2) });
    await cluster.kubectlOk(['wait', '--for=condition=Available', 'deployment/gc-me', '--timeout=90s']);
    const rs = await apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=gc-me' });
    expect(rs.items).toHaveLength(1);
    expect(rs.items[0]?.metadata?.ownerReferences?.[0]?.kind).toBe('Deployment');

    // Background propagation: the API deletes the owner at once; the garbage collector does the rest.
    await apps.deleteNamespacedDeployment({ name: 'gc-me', namespace: 'default', propagationPolicy: 'Background' });
    await waitFor('ReplicaSets and pods of gc-me collected', async () => {
      const [sets, pods] = await Promise.all([
        apps.listNamespacedReplicaSet({ namespace: 'default', labelSelector: 'app=gc-me' }),
        core.listNamespacedPod({ namespace: 'default', labelSelector: 'app=gc-me' }),
      ]);
      return sets.items.length === 0 && pods.items.length === 0 ? true : undefined;
    }, { timeoutMs: 90_000 });
  });

  test('helm installs, lists and uninstalls a chart in the cluster', async () => {
    const chartDir = join(cluster.dir, 'charts');
    mkdirSync(chartDir);
    await runCliOk('helm', ['create', join(chartDir, 'hello')], { env: { HELM_CONFIG_HOME: chartDir, HELM_CACHE_HOME: chartDir, HELM_DATA_HOME: chartDir } });
    const lint = await cluster.helm(['lint', join(chartDir, 'hello')]);
    expect(lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    const install = await cluster.helm(['install', 'hello', join(chartDir, 'hello'), '--namespace', 'helm-test', '--create-namespace', '--wait', '--timeout', '90s']);
    expect(install.stderr).toBe('');
    expect(install.stdout).toContain('STATUS: deployed');
    expect(await cluster.kubectlOk(['get', 'deployment', 'hello', '-n', 'helm-test', '-o', 'jsonpath={.status.readyReplicas}'])).toBe('1');
    const list = await cluster.helm(['list', '-n', 'helm-test', '-o', 'json']);
    expect((JSON.parse(list.stdout) as { name: string; status: string }[]).map((r) => `${r.name}:${r.status}`)).toEqual(['hello:deployed']);
    const uninstall = await cluster.helm(['uninstall', 'hello', '-n', 'helm-test', '--wait']);
    expect(uninstall.stdout).toContain('release "hello" uninstalled');
    const gone = await cluster.kubectl(['get', 'deployment', 'hello', '-n', 'helm-test']);
    expect(gone.stderr).toContain('not found');
  });

  test('kubectl reports errors like a user would see them', async () => {
    const missing = await cluster.kubectl(['get', 'deployment', 'does-not-exist']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('deployments.apps "does-not-exist" not found');
  });
});
