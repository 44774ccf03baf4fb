// The demo's own cluster: the local cluster library in real-node mode, the image built from
// the repository's Dockerfile and loaded into the node, a Prometheus on the node IP (the
// operator runs in a pod and cannot reach the host's loopback) discovering pods through the
// API server, and a model store on the node IP serving the demo's ONNX models.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tabularClassifier } from '../../test/fixtures/onnxModels.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  findBinary,
  NODE_IP,
  saveImage,
  startCluster,
  startModelStore,
  startPodPrometheus,
  type BinaryName,
  type DockerEngine,
} from '../../test/cluster/index.ts';
import type { DemoCluster, Teardown } from './target.ts';

/** The image the demo builds and installs. */
export const LOCAL_IMAGE = { repository: 'siskin.local/siskin', tag: 'demo' };

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
/** The host's preparation: Debian's host tools, then the cluster's binaries (scripts/setup-host.sh). */
export type HostSetup = (log: (line: string) => void) => void;

/** Runs scripts/setup-host.sh as `npm test` does: idempotent, quick once done, about 25 minutes the first time. */
export const runSetupHost: HostSetup = (log) => {
  log('preparing the host: scripts/setup-host.sh (Debian packages, then the cluster binaries from the Go module proxy: about 25 minutes on 2 cores the first time, cached after)');
  // Its output goes to stderr: the demo's stdout is its stamped transcript.
  const r = spawnSync('/bin/bash', [join(repoRoot, 'scripts', 'setup-host.sh')], { stdio: ['inherit', 2, 2] });
  if (r.status !== 0) throw new Error(`scripts/setup-host.sh failed (exit ${r.status ?? r.signal}); its output is above`);
};

const NEEDED: BinaryName[] = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet', 'kube-proxy', 'kubectl', 'helm', 'prometheus'];

/**
 * The demo's start-up on this machine, in the only safe order: the host is prepared first,
 * and only then is any tool looked up (a fresh machine has no Docker CLI before setup).
 * Returns the Docker engine, started here when none answered.
 */
export async function prepareHost(log: (line: string) => void, setup: HostSetup = runSetupHost): Promise<DockerEngine> {
  setup(log);
  for (const name of NEEDED) findBinary(name); // a clear error naming what setup could not provide
  return ensureDockerEngine();
}

/** Starts everything the local demo needs; every part is registered in teardown as it starts. */
export async function startLocalCluster(teardown: Teardown, log: (line: string) => void): Promise<DemoCluster> {
  if (process.getuid?.() !== 0) {
    throw new Error('the local demo runs a real node (kubelet, containerd, kube-proxy) and needs root: sudo npm run demo — or target an existing cluster with --kubeconfig (see --help)');
  }
  const image = `${LOCAL_IMAGE.repository}:${LOCAL_IMAGE.tag}`;
  const docker = await prepareHost(log);
  teardown.add('docker engine', () => docker.stop());
  log(`building ${image} from the Dockerfile (the base image is made once with debootstrap; later builds reuse cached layers)`);
  await buildRepoImage(image, await ensureBaseImage());
  log('starting the local cluster: etcd, kube-apiserver, controller-manager, scheduler, and a real node (kubelet, containerd, CNI, kube-proxy)');
  const cluster = await startCluster({ realNode: true });
  // The cluster library tears its cluster down on Ctrl-C itself; racing it would cut that short.
  teardown.add('local cluster', () => cluster.stop(), { onInterrupt: false });
  log(`cluster up: API server ${cluster.server}, node ${cluster.nodeNames.join(', ')}; loading the image into the node`);
  cluster.node!.importImage(saveImage(image, join(cluster.dir, 'image.tar')));
  // Docker's work is done: an engine started here need not run for the rest of the demo.
  await docker.stop();
  const prom = await startPodPrometheus(cluster, { scrapeInterval: '2s', listenAddress: NODE_IP });
  teardown.add('prometheus', () => prom.stop());
  const store = await startModelStore(NODE_IP);
  teardown.add('model store', () => store.stop());
  log(`Prometheus on ${prom.url} (scraping pods found through the API server); model store on ${store.url}`);
  const add = (name: string, bytes: Uint8Array): { url: string; sha256: string } => store.add(name, bytes);
  const good = add('iris/model.onnx', tabularClassifier({ seed: 7 }));
  // The same model with 30 extra 512×512 layers per row: ~0.3 s per inference on two cores.
  const slow = add('iris/slow/model.onnx', tabularClassifier({ seed: 7, slowLayers: 200 }));
  const kubectl = findBinary('kubectl');
  return {
    kubectl: (args, input) => cluster.kubectlOk(args, input === undefined ? {} : { input }),
    helm: async (args) => {
      const r = await cluster.helm(args);
      if (r.code !== 0) throw new Error(`helm ${args[0] ?? ''} failed (exit ${r.code}):\n${(r.stderr + r.stdout).trim()}`);
      return r.stdout;
    },
    kubeConfig: () => cluster.kubeConfig(),
    chartValues: [`image.repository=${LOCAL_IMAGE.repository}`, `image.tag=${LOCAL_IMAGE.tag}`, 'image.pullPolicy=IfNotPresent', `operator.defaultPrometheusAddress=${prom.url}`],
    prometheusUrl: prom.url,
    models: { good, slow },
    // kube-proxy runs on this machine: the Service's ClusterIP routes from here as from a pod.
    serviceUrl: async (namespace, service) => `http://${(await cluster.kubectlOk(['-n', namespace, 'get', 'service', service, '-o', 'jsonpath={.spec.clusterIP}'])).trim()}`,
    keepHints: (namespace) => [
      `export KUBECONFIG=${cluster.kubeconfigPath}`,
      `alias kubectl=${kubectl}`,
      `kubectl -n ${namespace} get md,pods,svc`,
      `${join(repoRoot, 'bin', 'kubectl-siskin')} status iris -n ${namespace}`,
      `Prometheus: ${prom.url}   (e.g. ${prom.url}/graph)`,
    ],
    holdsCluster: true,
  };
}
