// The local cluster: a real control plane plus optional controllers, scheduler and kwok
// nodes, with kubectl/helm bound to it and a teardown that leaves nothing behind.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AuthenticationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startControllerManager, startScheduler } from './components.ts';
import { startControlPlane, type ControlPlane } from './controlPlane.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { createKwokNodes, startKwok } from './kwok.ts';
import { makeTempDir, onInterrupt, type ManagedProcess } from './process.ts';
import { NODE_IP } from './controlPlane.ts';
import { guardLocalRanges, setUpHostNetwork } from './hostNetwork.ts';
import { claimRealNode, realNodePreflight, REAL_NODE_NAME, startRealNode, type RealNode } from './realNode.ts';
import { runCli, runCliOk, type CliResult } from './tools.ts';

/** What to start besides etcd and kube-apiserver. */
export interface LocalClusterOptions {
  /** kube-controller-manager (GC, Deployment/ReplicaSet/EndpointSlice controllers, …). */
  controllerManager?: boolean;
  /** kube-scheduler. */
  scheduler?: boolean;
  /** Fake kwok nodes to create (0: no kwok). Pods on them turn Running without running. */
  kwokNodes?: number;
  /** Max pods per kwok node. */
  kwokMaxPods?: number;
  /**
   * CRD files applied (and Established) before the controller-manager starts: its garbage
   * collector then knows their kinds at once instead of at its next 30 s discovery resync.
   */
  crdFiles?: string[];
  /**
   * A larger Service CIDR inside 198.18.0.0/15 (the benchmarking range), for kwok-mode scale
   * benchmarks that need more ClusterIPs than 198.18.0.0/24 holds. kwok mode runs no
   * kube-proxy: these addresses are only numbers in etcd, never routed or sent traffic.
   * Refused with realNode, whose Service range stays 198.18.0.0/24.
   */
  serviceCidr?: string;
  /** Extra kube-apiserver flags (e.g. audit logging for a benchmark, watch-cache settings). */
  extraApiserverArgs?: string[];
  /**
   * A real node (kubelet + containerd + CNI + kube-proxy) named siskin-node: pods run as
   * real containers. Needs root; implies controllerManager and scheduler. The API server
   * then listens on the node IP 198.18.1.1 (added to lo) so pods reach it.
   */
  realNode?: boolean;
}

/** A running local cluster. */
export interface LocalCluster {
  /** https URL of the API server. */
  readonly server: string;
  /** The cluster's private working dir (logs, PKI, kubeconfigs); removed at stop(). */
  readonly dir: string;
  /** Admin (system:masters) kubeconfig file. */
  readonly kubeconfigPath: string;
  /** CA certificate (PEM) the API server's cert chains to. */
  readonly caPem: string;
  /** The admin user's bearer token (for tools such as Prometheus' service discovery). */
  readonly adminToken: string;
  /** A fresh client-node KubeConfig for the admin user. */
  kubeConfig(): KubeConfig;
  /** Every process the cluster runs (for assertions on teardown). */
  processes(): ManagedProcess[];
  /** Names of the nodes (fake kwok nodes, or the real node). */
  readonly nodeNames: string[];
  /** The real node, when started with realNode. */
  readonly node: RealNode | undefined;
  /** Runs the real kubectl (admin unless a kubeconfig is given). */
  kubectl(args: string[], opts?: { input?: string; kubeconfig?: string; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** Like kubectl, throwing on failure and returning stdout. */
  kubectlOk(args: string[], opts?: { input?: string; kubeconfig?: string; env?: NodeJS.ProcessEnv }): Promise<string>;
  /** Runs the real helm with its own config/cache/data dirs. */
  helm(args: string[], opts?: { kubeconfig?: string }): Promise<CliResult>;
  /** Creates (if needed) a ServiceAccount, mints a token for it and writes a kubeconfig; returns its path. */
  serviceAccountKubeconfig(namespace: string, name: string, opts?: { expirationSeconds?: number }): Promise<string>;
  /** Stops everything and removes the working dir. Safe to call twice. */
  stop(): Promise<void>;
}

/** Starts a local cluster; on any failure, everything started so far is stopped. */
export async function startCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const tmp = makeTempDir('cluster');
  const dir = tmp.path;
  const procs: ManagedProcess[] = [];
  let cp: ControlPlane | undefined;
  let node: RealNode | undefined;
  let undoNetwork: (() => void) | undefined;
  let releaseNode: (() => void) | undefined;
  let kubeConfigFn: (() => KubeConfig) | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    unregister();
    // Reverse start order: controllers first (so nothing recreates pods), then the node's
    // pods through the API, the node, the API server, etcd, and last the host network.
    for (const p of [...procs].reverse()) await p.stop();
    if (node && kubeConfigFn) await node.drain(kubeConfigFn()).catch(() => undefined);
    await node?.stop();
    await cp?.stop();
    undoNetwork?.();
    releaseNode?.();
    tmp.remove();
  };
  const unregister = onInterrupt(stop);
  try {
    if (opts.realNode) {
      realNodePreflight();
      releaseNode = claimRealNode();
      undoNetwork = setUpHostNetwork(NODE_IP);
    } else {
      undoNetwork = guardLocalRanges();
    }
    if (opts.serviceCidr !== undefined) {
      if (opts.realNode) throw new Error('serviceCidr is for kwok mode only: the real node keeps Services in 198.18.0.0/24');
      if (!/^198\.1[89]\.\d{1,3}\.\d{1,3}\/(1[5-9]|2[0-4])$/.test(opts.serviceCidr)) throw new Error(`serviceCidr ${opts.serviceCidr} must lie in 198.18.0.0/15`);
    }
    const extra = {
      ...(opts.extraApiserverArgs ? { extraApiserverArgs: opts.extraApiserverArgs } : {}),
      ...(opts.serviceCidr ? { serviceCidr: opts.serviceCidr } : {}),
    };
    cp = await startControlPlane(opts.realNode ? { dir, bindAddress: NODE_IP, nodeName: REAL_NODE_NAME, ...extra } : { dir, ...extra });
    const kubeconfigPath = writeKubeconfig(join(dir, 'admin.kubeconfig'), { server: cp.server, caPem: cp.pki.caPem, ...cp.users.admin });
    const kubeConfig = (): KubeConfig => {
      const kc = new KubeConfig();
      kc.loadFromFile(kubeconfigPath);
      return kc;
    };
    kubeConfigFn = kubeConfig;
    for (const file of opts.crdFiles ?? []) {
      const env = { KUBECONFIG: kubeconfigPath };
      const names = (await runCliOk('kubectl', ['apply', '--server-side', '-f', file, '-o', 'name'], { env })).trim().split('\n');
      await runCliOk('kubectl', ['wait', '--for=condition=Established', '--timeout=60s', ...names], { env });
    }
    if (opts.controllerManager || opts.realNode) procs.push(await startControllerManager(cp, dir));
    if (opts.scheduler || opts.realNode) procs.push(await startScheduler(cp, dir));
    let nodeNames: string[] = [];
    if (opts.realNode) {
      node = await startRealNode(cp, dir, { kubeConfig });
      nodeNames = [node.name];
    }
    if (opts.kwokNodes && opts.kwokNodes > 0) {
      procs.push(await startKwok(cp, dir));
      nodeNames = await createKwokNodes(kubeConfig(), opts.kwokNodes, { maxPods: opts.kwokMaxPods });
    }
    const helmHome = join(dir, 'helm');
    mkdirSync(helmHome, { recursive: true });
    const env = (kubeconfig?: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
      KUBECONFIG: kubeconfig ?? kubeconfigPath,
      ...extra,
    });
    const controlPlane = cp;
    const cluster: LocalCluster = {
      server: cp.server,
      dir,
      kubeconfigPath,
      caPem: cp.pki.caPem,
      adminToken: cp.users.admin.token,
      kubeConfig,
      nodeNames,
      node,
      processes: () => [controlPlane.etcd, controlPlane.apiserver, ...procs, ...(node?.processes() ?? [])],
      kubectl: (args, o = {}) => runCli('kubectl', args, { input: o.input, env: env(o.kubeconfig, o.env) }),
      kubectlOk: (args, o = {}) => runCliOk('kubectl', args, { input: o.input, env: env(o.kubeconfig, o.env) }),
      helm: (args, o = {}) =>
        runCli('helm', args, {
          env: env(o.kubeconfig, {
            HELM_CACHE_HOME: join(helmHome, 'cache'),
            HELM_CONFIG_HOME: join(helmHome, 'config'),
            HELM_DATA_HOME: join(helmHome, 'data'),
          }),
        }),
      serviceAccountKubeconfig: async (namespace, name, o = {}) => {
        const kc = kubeConfig();
        const core = kc.makeApiClient(CoreV1Api);
        await ignoreConflict(core.createNamespace({ body: { metadata: { name: namespace } } }));
        await ignoreConflict(core.createNamespacedServiceAccount({ namespace, body: { metadata: { name } } }));
        const tr = await core.createNamespacedServiceAccountToken({
          name,
          namespace,
          body: { spec: { audiences: [], expirationSeconds: o.expirationSeconds ?? 3600 } },
        });
        const token = tr.status?.token;
        if (!token) throw new Error(`TokenRequest for ${namespace}/${name} returned no token`);
        // Prove the token authenticates as the ServiceAccount before handing it out.
        const auth = kc.makeApiClient(AuthenticationV1Api);
        const review = await auth.createTokenReview({ body: { spec: { token } } });
        const user = review.status?.user?.username;
        if (user !== `system:serviceaccount:${namespace}:${name}`) throw new Error(`minted token authenticates as ${user ?? 'nobody'}`);
        return writeKubeconfig(join(dir, `sa-${namespace}-${name}.kubeconfig`), {
          server: controlPlane.server,
          caPem: controlPlane.pki.caPem,
          user,
          token,
          namespace,
        });
      },
      stop,
    };
    return cluster;
  } catch (err) {
    await stop();
    throw err;
  }
}

async function ignoreConflict(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: number }).code !== 409) throw err;
  }
}
