// A real node on this machine: a dedicated containerd (CRI) with runc, the CNI bridge,
// kubelet and kube-proxy (iptables mode). Pods become real containers, probes really
// probe, Services really route. Teardown stops and removes every container, sandbox,
// netns, mount, cgroup, iptables chain and address it created.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import YAML from 'yaml';
import { findBinary } from './binaries.ts';
import { hostTool, missingHostPackages } from './hostTools.ts';
import { NODE_IP, type ControlPlane } from './controlPlane.ts';
import {
  BRIDGE,
  POD_CIDR,
  deleteBridge,
  deleteNetns,
  flushKubeChains,
  listNetns,
} from './hostNetwork.ts';
import { buildPauseImage, PAUSE_IMAGE } from './images.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { pidAlive, startProcess, tempDirOwner, unmountUnder, type ManagedProcess } from './process.ts';

/** The real node's name. */
export const REAL_NODE_NAME = 'siskin-node';
const CNI_BIN = '/usr/lib/cni';
const CGROUP_ROOT = '/sys/fs/cgroup';

/** The node's daemons, in the order they start. */
export const NODE_COMPONENTS = ['containerd', 'kubelet', 'kube-proxy'] as const;
export type NodeComponent = (typeof NODE_COMPONENTS)[number];

/** A running real node. */
export interface RealNode {
  readonly name: string;
  readonly containerdSocket: string;
  /** Runs ctr against the node's containerd (namespace k8s.io). */
  ctr(args: string[]): string;
  /** Imports a docker-archive tarball into the node's image store. */
  importImage(archive: string): void;
  /** PIDs of the running containers' first processes, by pod name and container name. */
  containerPids(): { pod: string; namespace: string; container: string; pid: number }[];
  processes(): ManagedProcess[];
  /**
   * Kills one of the node's daemons (SIGKILL: a crash; SIGTERM: a restart by its service
   * manager), starts it again with the same configuration and waits until it answers. Containers
   * outlive both (their shims are not containerd's children). Resolves with the time it was down.
   */
  restart(component: NodeComponent, signal?: 'SIGKILL' | 'SIGTERM'): Promise<{ downMs: number }>;
  /** Deletes every pod through the API and waits for the kubelet to stop them. */
  drain(kc: KubeConfig): Promise<void>;
  stop(): Promise<void>;
}

/** Checks what the real node needs and says how to get what is missing. */
export function realNodePreflight(): void {
  if (process.getuid?.() !== 0) throw new Error('the real-node mode needs root (it runs containerd, kubelet and iptables); the kwok mode does not');
  const mounts = readFileSync('/proc/mounts', 'utf8');
  if (!/ cgroup2? /.test(mounts)) throw new Error('the real-node mode needs a mounted cgroup filesystem (/sys/fs/cgroup); the kwok mode does not');
  const missing = missingHostPackages([
    'containerd', 'ctr', 'runc', 'iptables', 'conntrack', 'ip', 'nsenter', 'gcc',
    `${CNI_BIN}/bridge`, `${CNI_BIN}/host-local`, `${CNI_BIN}/loopback`,
  ]);
  if (missing.length) throw new Error(`the real-node mode needs Debian packages: apt-get install ${missing.join(' ')} (scripts/setup-host.sh installs them)`);
}

function containerdConfig(dir: string, socket: string): string {
  return `version = 2
root = "${dir}/root"
state = "${dir}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${socket}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${PAUSE_IMAGE}"
  # This sandbox forbids lowering oom_score_adj; without this every sandbox fails in runc.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN}"
    conf_dir = "${dir}/cni"
`;
}

/** The CNI conflist: a bridge, host-local IPAM in the pod subnet, routes only inside the machine. */
export function cniConflist(ipamDir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'siskin',
      plugins: [
        {
          type: 'bridge',
          bridge: BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            dataDir: ipamDir,
            ranges: [[{ subnet: POD_CIDR, gateway: '198.51.100.1' }]],
            // Pods reach each other, Services and the node (198.18.0.0/15) — and nothing else.
            routes: [{ dst: '198.18.0.0/15' }],
          },
        },
      ],
    },
    null,
    2,
  );
}

/** Every cgroup directory under kubepods, deepest first. */
function kubepodsCgroups(): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e);
      try {
        if (statSync(p).isDirectory()) walk(p);
      } catch {
        // raced away
      }
    }
    out.push(d);
  };
  for (const ctl of existsSync(CGROUP_ROOT) ? readdirSync(CGROUP_ROOT) : []) {
    const base = join(CGROUP_ROOT, ctl, 'kubepods');
    if (existsSync(base)) walk(base);
  }
  if (existsSync(join(CGROUP_ROOT, 'kubepods'))) walk(join(CGROUP_ROOT, 'kubepods'));
  return out;
}

/** PIDs still inside kubepods cgroups (containers, pause processes). */
export function podProcesses(): number[] {
  const pids = new Set<number>();
  for (const cg of kubepodsCgroups()) {
    try {
      for (const l of readFileSync(join(cg, 'cgroup.procs'), 'utf8').split('\n')) if (l) pids.add(Number(l));
    } catch {
      // gone
    }
  }
  return [...pids];
}

/** Kills every process in kubepods cgroups and removes those cgroups. */
export function killPodProcesses(): void {
  for (let round = 0; round < 20; round++) {
    const pids = podProcesses();
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    execFileSync('sleep', ['0.1']);
  }
  for (const cg of kubepodsCgroups()) {
    try {
      rmdirSync(cg);
    } catch {
      // still busy or gone
    }
  }
}

/** Processes whose command line mentions text (e.g. a containerd socket path). */
function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)) out.push(Number(e));
    } catch {
      // raced away
    }
  }
  return out;
}

/** Starts containerd, kubelet and kube-proxy; the host network must be set up and the API server listen on NODE_IP. */
export async function startRealNode(cp: ControlPlane, dir: string, opts: { kubeConfig: () => KubeConfig }): Promise<RealNode> {
  realNodePreflight();
  const procs: ManagedProcess[] = [];
  const netnsBefore = new Set(listNetns());
  const cdDir = join(dir, 'containerd');
  const socket = join(cdDir, 'containerd.sock');
  const ctr = (args: string[]): string =>
    execFileSync('ctr', ['--address', socket, '--namespace', 'k8s.io', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

  // How each daemon is started and how it is known to answer: the same for its first start and a restart.
  const launch = {} as Record<NodeComponent, () => ManagedProcess>;
  const answers = {} as Record<NodeComponent, (p: ManagedProcess) => Promise<unknown>>;

  const stop = async (): Promise<void> => {
    const [proxy, kubelet, containerd] = [procs[2], procs[1], procs[0]];
    await proxy?.stop();
    await kubelet?.stop();
    // Kill every task through containerd before stopping it: a containerd stopped first
    // leaves shims and container processes running.
    if (containerd?.running()) {
      try {
        for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) {
          try {
            ctr(['tasks', 'kill', '-a', '-s', 'SIGKILL', id]);
          } catch {
            // already stopped
          }
        }
      } catch {
        // containerd not answering: the cgroup sweep below still kills everything
      }
    }
    killPodProcesses();
    if (containerd?.running()) {
      try {
        for (const id of ctr(['tasks', 'ls', '-q']).split('\n').filter(Boolean)) {
          try {
            ctr(['tasks', 'delete', '-f', id]);
          } catch {
            // gone
          }
        }
      } catch {
        // ignore: see above
      }
    }
    await containerd?.stop();
    for (const pid of pidsMentioning(socket)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    killPodProcesses();
    deleteNetns(listNetns().filter((n) => !netnsBefore.has(n)));
    deleteBridge();
    try {
      execFileSync(findBinary('kube-proxy'), ['--cleanup'], { stdio: 'ignore' });
    } catch {
      // flushKubeChains below is the backstop
    }
    flushKubeChains();
    unmountUnder(dir);
  };

  try {
    mkdirSync(join(cdDir, 'cni'), { recursive: true });
    writeFileSync(join(cdDir, 'config.toml'), containerdConfig(cdDir, socket));
    writeFileSync(join(cdDir, 'cni', '10-siskin.conflist'), cniConflist(join(cdDir, 'ipam')));
    launch.containerd = () =>
      startProcess({
        name: 'containerd',
        command: hostTool('containerd'),
        args: ['--config', join(cdDir, 'config.toml'), '--log-level', 'warn'],
        logFile: join(dir, 'containerd.log'),
      });
    answers.containerd = async (containerd) =>
      waitFor('containerd to answer', () => Promise.resolve(existsSync(socket) && ctr(['version']) ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 100,
        abort: () => (containerd.running() ? undefined : `containerd exited:\n${containerd.logTail()}`),
      });
    procs.push(launch.containerd());
    await answers.containerd(procs[0]!);
    ctr(['images', 'import', '--no-unpack=false', buildPauseImage(join(dir, 'pause'))]);

    // kubelet
    const kubeletDir = join(dir, 'kubelet');
    mkdirSync(kubeletDir, { recursive: true });
    const kubeletKubeconfig = writeKubeconfig(join(dir, 'kubelet.kubeconfig'), { server: cp.server, caPem: cp.pki.caPem, ...cp.users.node });
    const kubeletPort = await freePort(NODE_IP);
    const kubeletHealthz = await freePort();
    const kubeletConfig = {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: NODE_IP,
      port: kubeletPort,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: kubeletHealthz,
      containerRuntimeEndpoint: `unix://${socket}`,
      cgroupDriver: 'cgroupfs',
      failSwapOn: false,
      failCgroupV1: false,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: cp.pki.caCert } },
      authorization: { mode: 'Webhook' },
      // A test node: never evict for disk, never garbage-collect the locally made images.
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      serializeImagePulls: false,
      resolvConf: '',
      maxPods: 110,
      podPidsLimit: 4096,
      syncFrequency: '5s',
      fileCheckFrequency: '5s',
      nodeStatusUpdateFrequency: '5s',
      shutdownGracePeriod: '0s',
      protectKernelDefaults: false,
      makeIPTablesUtilChains: true,
    };
    writeFileSync(join(dir, 'kubelet.yaml'), YAML.stringify(kubeletConfig));
    launch.kubelet = () => startProcess({
      name: 'kubelet',
      command: findBinary('kubelet'),
      args: [
        `--config=${join(dir, 'kubelet.yaml')}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${kubeletDir}`,
        `--cert-dir=${join(kubeletDir, 'pki')}`,
        `--hostname-override=${REAL_NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
        '--v=1',
      ],
      logFile: join(dir, 'kubelet.log'),
    });
    // Restarted, the node is still Ready in the API: the kubelet's own healthz says it is back.
    answers.kubelet = async (kubelet) =>
      waitFor('kubelet /healthz', async () => ((await httpGet(`http://127.0.0.1:${kubeletHealthz}/healthz`).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
        abort: () => (kubelet.running() ? undefined : `kubelet exited:\n${kubelet.logTail()}`),
      });
    const kubelet = launch.kubelet();
    procs.push(kubelet);
    const core = opts.kubeConfig().makeApiClient(CoreV1Api);
    await waitFor(
      `node ${REAL_NODE_NAME} Ready`,
      async () => {
        const node = await core.readNode({ name: REAL_NODE_NAME });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 250, abort: () => (kubelet.running() ? undefined : `kubelet exited:\n${kubelet.logTail()}`) },
    );

    // kube-proxy
    const proxyKubeconfig = writeKubeconfig(join(dir, 'kube-proxy.kubeconfig'), { server: cp.server, caPem: cp.pki.caPem, ...cp.users.proxy });
    const proxyHealthz = await freePort();
    const proxyMetrics = await freePort();
    writeFileSync(
      join(dir, 'kube-proxy.yaml'),
      YAML.stringify({
        apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
        kind: 'KubeProxyConfiguration',
        mode: 'iptables',
        clientConnection: { kubeconfig: proxyKubeconfig },
        hostnameOverride: REAL_NODE_NAME,
        clusterCIDR: POD_CIDR,
        healthzBindAddress: `127.0.0.1:${proxyHealthz}`,
        metricsBindAddress: `127.0.0.1:${proxyMetrics}`,
        nodePortAddresses: [`${NODE_IP}/32`],
        // Leave the machine's conntrack sysctls alone.
        conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
        iptables: { localhostNodePorts: false, syncPeriod: '5s', minSyncPeriod: '0s' },
      }),
    );
    launch['kube-proxy'] = () =>
      startProcess({
        name: 'kube-proxy',
        command: findBinary('kube-proxy'),
        args: [`--config=${join(dir, 'kube-proxy.yaml')}`, '--v=1'],
        logFile: join(dir, 'kube-proxy.log'),
      });
    answers['kube-proxy'] = async (proxy) =>
      waitFor('kube-proxy /healthz', async () => ((await httpGet(`http://127.0.0.1:${proxyHealthz}/healthz`).catch(() => ({ status: 0 }))).status === 200 ? true : undefined), {
        timeoutMs: 60_000,
        abort: () => (proxy.running() ? undefined : `kube-proxy exited:\n${proxy.logTail()}`),
      });
    procs.push(launch['kube-proxy']());
    await answers['kube-proxy'](procs[2]!);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    name: REAL_NODE_NAME,
    containerdSocket: socket,
    ctr,
    importImage: (archive) => void ctr(['images', 'import', archive]),
    containerPids: () => {
      const out: { pod: string; namespace: string; container: string; pid: number }[] = [];
      const tasks = ctr(['tasks', 'ls'])
        .split('\n')
        .slice(1)
        .map((l) => l.trim().split(/\s+/))
        .filter((f) => f.length >= 3 && f[2] === 'RUNNING');
      for (const [id, pid] of tasks) {
        const info = JSON.parse(ctr(['containers', 'info', id!])) as { Labels?: Record<string, string> };
        const labels = info.Labels ?? {};
        const container = labels['io.kubernetes.container.name'];
        if (!container) continue; // a sandbox
        out.push({ pod: labels['io.kubernetes.pod.name'] ?? '', namespace: labels['io.kubernetes.pod.namespace'] ?? '', container, pid: Number(pid) });
      }
      return out;
    },
    processes: () => [...procs],
    restart: async (component, signal = 'SIGKILL') => {
      const i = NODE_COMPONENTS.indexOf(component);
      const old = procs[i]!;
      const down = performance.now();
      if (old.running()) process.kill(old.pid, signal);
      await old.exited;
      procs[i] = launch[component]();
      await answers[component](procs[i]);
      return { downMs: performance.now() - down };
    },
    drain: async (kc) => {
      const core = kc.makeApiClient(CoreV1Api);
      const pods = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${REAL_NODE_NAME}` });
      await Promise.all(
        pods.items.map((p) =>
          core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: p.metadata!.namespace!, gracePeriodSeconds: 1 }).catch(() => undefined),
        ),
      );
      await waitFor(
        'pods on the real node to stop',
        async () => ((await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${REAL_NODE_NAME}` })).items.length === 0 ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 250 },
      ).catch(() => undefined);
    },
    stop,
  };
}

const LOCK = '/run/siskin-real-node.pid';

/** Claims the machine's one real node (fixed bridge, node IP); returns the release function. */
export function claimRealNode(): () => void {
  try {
    const owner = Number(readFileSync(LOCK, 'utf8'));
    if (owner !== process.pid && pidAlive(owner)) throw new Error(`another real-node cluster runs on this machine (pid ${owner}); only one can`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  sweepRealNodeLeftovers();
  writeFileSync(LOCK, String(process.pid));
  return () => {
    try {
      if (Number(readFileSync(LOCK, 'utf8')) === process.pid) rmSync(LOCK);
    } catch {
      // already released
    }
  };
}

/** Removes what a killed real-node run left: its processes, pod processes, netns, bridge, KUBE-* chains, the node IP. */
export function sweepRealNodeLeftovers(): void {
  for (const pid of pidsMentioning('/siskin-cluster-')) {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const dir = /(\/\S*?\/siskin-cluster-[^/\s]+)/.exec(cmd)?.[1];
    // A dir already swept has no owner file: its owner is gone.
    const owner = dir ? tempDirOwner(dir) : undefined;
    if (owner === undefined || !pidAlive(owner)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
  killPodProcesses();
  deleteNetns(listNetns().filter((n) => n.startsWith('cni-')));
  deleteBridge();
  flushKubeChains();
  try {
    execFileSync('ip', ['addr', 'del', `${NODE_IP}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  } catch {
    // not there
  }
}

