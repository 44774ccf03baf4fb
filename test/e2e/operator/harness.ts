// The end-to-end setting shared by the operator suites: the local cluster in real-node mode
// running the image built from the repository's Dockerfile, a model store on the node IP,
// Prometheus discovering pods through the API server, and the operator as a process under
// exactly the RBAC it declares, pointed at that Prometheus.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import type { ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  freePort,
  NODE_IP,
  saveImage,
  serviceAccountWithRules,
  startCluster,
  startModelStore,
  startPodPrometheus,
  waitFor,
  type DockerEngine,
  type LocalCluster,
  type LocalPrometheus,
  type ModelStore,
} from '../../cluster/index.ts';

/** The image every serving pod (and the operator image tests) run. */
export const IMAGE = 'siskin.local/siskin:e2e';
const main = fileURLToPath(new URL('../../../operator/main.ts', import.meta.url));

/** A running end-to-end setting. */
export interface E2E {
  cluster: LocalCluster;
  store: ModelStore;
  prom: LocalPrometheus;
  /** The operator's log so far (for failure messages). */
  operatorLog(): string;
  /** The ModelDeployment's status, read through the real kubectl. */
  status(name: string): Promise<ModelDeploymentStatus>;
  /** Polls status until pred holds; on timeout, fails with the status, the pods and the operator's log. */
  waitStatus(name: string, what: string, pred: (s: ModelDeploymentStatus) => boolean, timeoutMs?: number): Promise<ModelDeploymentStatus>;
  /** A Service's ClusterIP. */
  serviceIP(name: string): Promise<string>;
  /** Applies an object (JSON) with the real kubectl. */
  apply(obj: unknown): Promise<void>;
  stop(): Promise<void>;
}

/** Starts everything; stop() tears it all down, also after a failed start. */
export async function startE2E(opts: { scrapeInterval?: string } = {}): Promise<E2E> {
  let docker: DockerEngine | undefined;
  let cluster: LocalCluster | undefined;
  let store: ModelStore | undefined;
  let prom: LocalPrometheus | undefined;
  let operator: ChildProcess | undefined;
  let log = '';
  const stop = async (): Promise<void> => {
    if (operator && operator.exitCode === null) {
      const exited = new Promise((r) => operator!.once('exit', r));
      operator.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())]);
      operator.kill('SIGKILL');
    }
    await prom?.stop();
    await store?.stop();
    await cluster?.stop();
    await docker?.stop();
  };
  try {
    docker = await ensureDockerEngine();
    await buildRepoImage(IMAGE, await ensureBaseImage());
    cluster = await startCluster({ realNode: true, crdFiles: [fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url))] });
    cluster.node!.importImage(saveImage(IMAGE, join(cluster.dir, 'image.tar')));
    store = await startModelStore(NODE_IP);
    const port = await freePort();
    // Scale to zero: the operator runs on the host, so its activator's address is the node IP
    // (kube-proxy and Traefik reach it there); its ports follow a free one.
    const activatorPort = await freePort();
    // The operator's own metrics too (job "static"), as a ServiceMonitor would in a user's cluster.
    prom = await startPodPrometheus(cluster, { scrapeInterval: opts.scrapeInterval ?? '2s', staticTargets: [`127.0.0.1:${port}`] });
    const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
    operator = spawn(process.execPath, [main], {
      env: {
        ...process.env,
        KUBECONFIG: saConfig,
        SISKIN_DEFAULT_SERVING_IMAGE: IMAGE,
        SISKIN_DEFAULT_PROMETHEUS_ADDRESS: prom.url,
        SISKIN_HTTP_HOST: '127.0.0.1',
        SISKIN_HTTP_PORT: String(port),
        SISKIN_LEADER_ELECTION_NAMESPACE: 'siskin-system',
        SISKIN_ACTIVATOR_ADDRESS: NODE_IP,
        SISKIN_ACTIVATOR_PORTS: `${activatorPort}-${activatorPort + 9}`,
        POD_NAME: 'operator-e2e',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    operator.stdout!.on('data', (c: Buffer) => (log += c.toString()));
    operator.stderr!.on('data', (c: Buffer) => (log += c.toString()));
  } catch (err) {
    await stop();
    throw err;
  }
  const c = cluster;
  const status = async (name: string): Promise<ModelDeploymentStatus> =>
    ((JSON.parse(await c.kubectlOk(['get', 'md', name, '-o', 'json'])) as { status?: ModelDeploymentStatus }).status ?? {});
  return {
    cluster: c,
    store,
    prom,
    operatorLog: () => log,
    status,
    async waitStatus(name, what, pred, timeoutMs = 180_000) {
      try {
        return await waitFor(`${name}: ${what}`, async () => {
          const s = await status(name);
          return pred(s) ? s : undefined;
        }, { timeoutMs, intervalMs: 250 });
      } catch (err) {
        const s = await status(name).catch(() => ({}));
        const pods = await c.kubectlOk(['get', 'pods', '-o', 'wide']).catch(() => '');
        throw new Error(`${(err as Error).message}\nstatus: ${JSON.stringify(s, null, 1).slice(0, 6000)}\n${pods}\noperator log:\n${log.slice(-4000)}`, { cause: err });
      }
    },
    async serviceIP(name) {
      const svc = await c.kubeConfig().makeApiClient(CoreV1Api).readNamespacedService({ name, namespace: 'default' });
      return svc.spec!.clusterIP!;
    },
    async apply(obj) {
      await c.kubectlOk(['apply', '--server-side', '-f', '-'], { input: JSON.stringify(obj) });
    },
    stop,
  };
}

/** A ModelDeployment manifest in the default namespace. */
export function modelDeployment(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'siskin.dev/v1alpha1', kind: 'ModelDeployment', metadata: { name, namespace: 'default' }, spec };
}
