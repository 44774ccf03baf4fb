// The real-node mode: pods are real containers from an image made here, readiness probes
// really probe, Services really route, kubectl logs/exec work, Prometheus discovers pods
// through the API server — and teardown leaves the machine as it found it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, type V1Deployment } from '@kubernetes/client-node';
import {
  bridgeExists,
  buildBusyboxHttpdImage,
  createHostPathClaim,
  hasKubeChains,
  hasGuardChain,
  listNetns,
  NODE_IP,
  nodeIpOnLo,
  pidAlive,
  podProcesses,
  POD_CIDR,
  startCluster,
  startModelStore,
  startPodPrometheus,
  waitFor,
  type LocalCluster,
  type LocalPrometheus,
} from '../../cluster/index.ts';

const execFileAsync = promisify(execFile);
const IMAGE = 'siskin.local/httpd-test:1';
const NS = 'default';

function curl(args: string[], netnsPid?: number): string {
  const cmd = ['curl', '-sS', '--max-time', '5', ...args];
  const [bin, argv] = netnsPid ? ['nsenter', ['-t', String(netnsPid), '-n', ...cmd]] : [cmd[0]!, cmd.slice(1)];
  return execFileSync(bin, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const deployment: V1Deployment = {
  metadata: { name: 'web' },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: {
      metadata: {
        labels: { app: 'web' },
        annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080', 'prometheus.io/path': '/metrics' },
      },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'httpd',
            image: IMAGE,
            imagePullPolicy: 'IfNotPresent',
            ports: [{ containerPort: 8080 }],
            readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 1 },
            securityContext: { runAsNonRoot: true, runAsUser: 65532, allowPrivilegeEscalation: false },
            // Each pod serves its own name, so responses tell which pod answered.
            volumeMounts: [{ name: 'podinfo', mountPath: '/www/podinfo', readOnly: true }],
          },
        ],
        volumes: [{ name: 'podinfo', downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } }],
      },
    },
  },
};

describe('real node', () => {
  let cluster: LocalCluster;
  let prom: LocalPrometheus | undefined;
  let netnsBefore: string[] = [];
  let startedAt = 0;
  const timings: Record<string, number> = {};

  beforeAll(async () => {
    netnsBefore = listNetns();
    startedAt = Date.now();
    cluster = await startCluster({ realNode: true });
    timings.nodeReadyMs = Date.now() - startedAt;
    const work = join(cluster.dir, 'image-httpd');
    mkdirSync(work);
    const archive = buildBusyboxHttpdImage(IMAGE, work, {
      'index.html': 'hello from siskin\n',
      ready: 'ok\n',
      metrics: '# HELP siskin_test_info A constant the test reads back.\n# TYPE siskin_test_info gauge\nsiskin_test_info 1\n',
    });
    cluster.node!.importImage(archive);
  });

  afterAll(async () => {
    await prom?.stop();
    await cluster?.stop();
    console.log(`real-node timings: ${JSON.stringify(timings)}`);
  });

  test('runs a two-replica Deployment as real containers that pass HTTP readiness probes', async () => {
    const kc = cluster.kubeConfig();
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({ namespace: NS, body: deployment });
    const t0 = Date.now();
    await cluster.kubectlOk(['wait', '--for=condition=Available', 'deployment/web', '--timeout=120s']);
    timings.twoPodsReadyMs = Date.now() - t0;
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app=web' });
    expect(pods.items).toHaveLength(2);
    for (const p of pods.items) {
      expect(p.status?.podIP).toMatch(/^198\.51\.100\./);
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
      // The pod really serves: ask it directly over the bridge.
      expect(curl([`http://${p.status!.podIP!}:8080/`])).toBe('hello from siskin\n');
    }
    const running = cluster.node!.containerPids().filter((c) => c.container === 'httpd');
    expect(running.map((c) => c.pod).sort()).toEqual(pods.items.map((p) => p.metadata!.name!).sort());
  });

  test('a ClusterIP Service answers from the host and from inside a pod; pods reach each other and the node', async () => {
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const svc = await core.createNamespacedService({
      namespace: NS,
      body: { metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
    });
    const ip = svc.spec!.clusterIP!;
    expect(ip).toMatch(/^198\.18\.0\./);
    const hosts = new Set<string>();
    await waitFor('the Service to route to both pods', () => {
      hosts.add(curl([`http://${ip}/podinfo/name`]).trim());
      return Promise.resolve(hosts.size === 2 ? true : undefined);
    }, { timeoutMs: 60_000, intervalMs: 50 });
    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items;
    expect([...hosts].sort()).toEqual(pods.map((p) => p.metadata!.name!).sort());

    const [a, b] = cluster.node!.containerPids().filter((c) => c.pod.startsWith('web-'));
    const podB = pods.find((p) => p.metadata!.name === b!.pod)!;
    expect(curl([`http://${ip}/index.html`], a!.pid)).toBe('hello from siskin\n');
    expect(curl([`http://${podB.status!.podIP!}:8080/podinfo/name`], a!.pid).trim()).toBe(b!.pod);
    // The API server, through the kubernetes Service, from inside a pod.
    expect(curl(['-k', '-o', '/dev/null', '-w', '%{http_code}', 'https://198.18.0.1/api/v1/namespaces'], a!.pid)).toBe('403');
    // An unprogrammed Service IP fails on the machine instead of following the default route out.
    expect(() => curl(['http://198.18.0.250/'])).toThrow(/Couldn't connect|No route to host|unreachable/i);
    // Nothing outside the machine is routed from a pod.
    expect(execFileSync('nsenter', ['-t', String(a!.pid), '-n', 'ip', '-4', 'route'], { encoding: 'utf8' })).not.toContain('default');
  });

  test('kubectl logs and kubectl exec reach the container through the kubelet', async () => {
    const pod = cluster.node!.containerPids().find((c) => c.container === 'httpd')!.pod;
    expect(await cluster.kubectlOk(['exec', pod, '--', 'cat', '/www/index.html'])).toBe('hello from siskin\n');
    expect(await cluster.kubectlOk(['exec', pod, '--', 'hostname'])).toBe(`${pod}\n`);
    const logs = await cluster.kubectlOk(['logs', pod]);
    expect(logs).toMatch(/198\.51\.100\.1\]:\d+: response:200/);
  });

  test('Prometheus discovers the pods through the API server and scrapes each of them', async () => {
    prom = await startPodPrometheus(cluster);
    const pods = (await cluster.kubeConfig().makeApiClient(CoreV1Api).listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items;
    const series = await waitFor('one siskin_test_info series per pod', async () => {
      const r = await prom!.query('siskin_test_info');
      return r.length === pods.length ? r : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500 });
    expect(series.map((s) => s.metric.pod).sort()).toEqual(pods.map((p) => p.metadata!.name!).sort());
    for (const s of series) expect(s.metric.instance).toMatch(new RegExp(`^${POD_CIDR.split('.').slice(0, 3).join('\\.')}\\.\\d+:8080$`));
  });

  test('pods download models from the node\'s model store and read them from a hostPath-backed claim', async () => {
    const store = await startModelStore(NODE_IP);
    try {
      const model = store.add('iris/v1/model.onnx', Buffer.from('not really onnx, but bytes with a digest'));
      expect(model.url).toBe(`http://${NODE_IP}:${new URL(store.url).port}/iris/v1/model.onnx`);
      const pid = cluster.node!.containerPids().find((c) => c.container === 'httpd')!.pid;
      // Asynchronously: the store serves from this very process.
      const fetched = (await execFileAsync('nsenter', ['-t', String(pid), '-n', 'curl', '-sS', '--max-time', '5', model.url], { encoding: 'buffer' })).stdout;
      expect(createHash('sha256').update(fetched).digest('hex')).toBe(model.sha256);
      expect(store.hits.get('/iris/v1/model.onnx')).toBe(1);
      const missing = await execFileAsync('nsenter', ['-t', String(pid), '-n', 'curl', '-sS', '-o', '/dev/null', '-w', '%{http_code}', `${store.url}/missing.onnx`]);
      expect(missing.stdout).toBe('404');
    } finally {
      await store.stop();
    }

    const hostDir = join(cluster.dir, 'volumes', 'models');
    await createHostPathClaim(cluster.kubeConfig(), { namespace: NS, name: 'models', hostDir });
    writeFileSync(join(hostDir, 'model.onnx'), 'weights\n', { mode: 0o644 });
    await cluster.kubeConfig().makeApiClient(CoreV1Api).createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'reader' },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'httpd', image: IMAGE, imagePullPolicy: 'IfNotPresent', volumeMounts: [{ name: 'models', mountPath: '/models', readOnly: true }] }],
          volumes: [{ name: 'models', persistentVolumeClaim: { claimName: 'models', readOnly: true } }],
        },
      },
    });
    await cluster.kubectlOk(['wait', '--for=condition=Ready', 'pod/reader', '--timeout=90s']);
    expect(await cluster.kubectlOk(['exec', 'reader', '--', 'cat', '/models/model.onnx'])).toBe('weights\n');
  });

  test('a deleted pod is replaced; scaled to zero, its containers are gone from containerd', async () => {
    const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
    const before = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items.map((p) => p.metadata!.name!);
    await core.deleteNamespacedPod({ name: before[0]!, namespace: NS });
    await waitFor('a replacement pod Ready', async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=web' })).items;
      const ready = pods.filter((p) => !before.includes(p.metadata!.name!) && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 1 && pods.length === 2 ? true : undefined;
    }, { timeoutMs: 90_000, intervalMs: 250 });

    await cluster.kubectlOk(['scale', 'deployment/web', '--replicas=0']);
    await waitFor('no httpd container left in containerd', () =>
      Promise.resolve(cluster.node!.containerPids().some((c) => c.pod.startsWith('web-')) ? undefined : true), { timeoutMs: 60_000, intervalMs: 250 });
  });

  test('teardown leaves no process, pod, netns, bridge, KUBE-* chain or node address behind', async () => {
    await cluster.kubectlOk(['scale', 'deployment/web', '--replicas=2']);
    await cluster.kubectlOk(['wait', '--for=condition=Available', 'deployment/web', '--timeout=120s']);
    const pids = cluster.processes().map((p) => p.pid);
    await prom?.stop();
    prom = undefined;
    await cluster.stop();
    expect(pids.filter(pidAlive)).toEqual([]);
    expect(podProcesses()).toEqual([]);
    expect(listNetns().filter((n) => !netnsBefore.includes(n))).toEqual([]);
    expect(bridgeExists()).toBe(false);
    expect(hasKubeChains()).toBe(false);
    expect(nodeIpOnLo(NODE_IP)).toBe(false);
    expect(hasGuardChain()).toBe(false);
  });
});
