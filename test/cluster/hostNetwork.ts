// The host-side network of the real node: the node IP on `lo`, forwarding within the pod
// subnet, bridged traffic through iptables — each change recorded so teardown undoes
// exactly what was done, and a sweep that removes what a killed run left behind.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** The pod subnet of the real node: a documentation range, never a private one. */
export const POD_CIDR = '198.51.100.0/24';
/** The CNI bridge's name. */
export const BRIDGE = 'siskin0';
/** The ranges the local cluster uses; nothing addressed to them may be routed off the machine. */
export const LOCAL_RANGES = ['198.18.0.0/15', POD_CIDR] as const;
/** The iptables chain that rejects local-range packets headed anywhere but lo or the bridge. */
export const GUARD_CHAIN = 'SISKIN-GUARD';
/** Marks the iptables rules Siskin adds, so they can be found and removed. */
const RULE_COMMENT = 'siskin-local-cluster';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}
function tryRun(cmd: string, args: string[]): boolean {
  try {
    run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** One reversible change to the host. */
interface Change {
  undo(): void;
}

function setSysctl(path: string, value: string): Change | undefined {
  const old = readFileSync(path, 'utf8').trim();
  if (old === value) return undefined;
  writeFileSync(path, value);
  return { undo: () => writeFileSync(path, old) };
}

const forwardRules = [
  ['-s', POD_CIDR],
  ['-d', POD_CIDR],
];

/** Applies the host network settings for a node with IP nodeIp; returns the undo. */
export function setUpHostNetwork(nodeIp: string): () => void {
  const changes: Change[] = [];
  try {
    const addrs = run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']);
    if (!addrs.includes(` ${nodeIp}/`)) {
      run('ip', ['addr', 'add', `${nodeIp}/32`, 'dev', 'lo']);
      changes.push({ undo: () => void tryRun('ip', ['addr', 'del', `${nodeIp}/32`, 'dev', 'lo']) });
    }
    for (const [path, value] of [
      ['/proc/sys/net/ipv4/ip_forward', '1'],
      // Replies between pods on one bridge must pass conntrack to undo a Service's DNAT.
      ['/proc/sys/net/bridge/bridge-nf-call-iptables', '1'],
    ] as const) {
      if (!existsSync(path)) throw new Error(`${path} is missing: the kernel lacks ${path.includes('bridge') ? 'br_netfilter' : 'IPv4 forwarding'}`);
      const c = setSysctl(path, value);
      if (c) changes.push(c);
    }
    // Nothing for the Service range or the pod subnet may ever leave the machine: a ClusterIP
    // that kube-proxy has not programmed yet (or a pod IP before the bridge exists) would
    // otherwise follow the default route out. The guard chain rejects such packets unless they
    // leave through lo or the bridge, or kube-proxy rewrote them (conntrack state DNAT).
    changes.push(...installGuard(GUARD_CHAIN, { bridge: true }));
    // Docker may have set the FORWARD policy to DROP: accept traffic within the pod subnet.
    for (const match of forwardRules) {
      run('iptables', ['-w', '-I', 'FORWARD', '1', ...match, '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'ACCEPT']);
      changes.push({ undo: () => void tryRun('iptables', ['-w', '-D', 'FORWARD', ...match, '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'ACCEPT']) });
    }
  } catch (err) {
    for (const c of changes.reverse()) c.undo();
    throw err;
  }
  return () => {
    for (const c of changes.reverse()) c.undo();
  };
}

/**
 * Creates a guard chain that rejects packets for the local ranges unless they leave through lo
 * (or, for a real node, the bridge, or kube-proxy rewrote them), and jumps to it from OUTPUT
 * and FORWARD. Returns the undo steps.
 */
function installGuard(chain: string, opts: { bridge: boolean }): Change[] {
  const changes: Change[] = [];
  try {
    run('iptables', ['-w', '-N', chain]);
    changes.push({ undo: () => void (tryRun('iptables', ['-w', '-F', chain]) && tryRun('iptables', ['-w', '-X', chain])) });
    if (opts.bridge) {
      // Connections kube-proxy rewrote (Service → pod or node) are routed inside the machine.
      run('iptables', ['-w', '-A', chain, '-m', 'conntrack', '--ctstate', 'DNAT', '-j', 'RETURN']);
      run('iptables', ['-w', '-A', chain, '-o', BRIDGE, '-j', 'RETURN']);
    }
    run('iptables', ['-w', '-A', chain, '-o', 'lo', '-j', 'RETURN']);
    run('iptables', ['-w', '-A', chain, '-j', 'REJECT', '--reject-with', 'icmp-net-unreachable']);
    for (const c of ['OUTPUT', 'FORWARD']) {
      for (const dst of LOCAL_RANGES) {
        const rule = ['-d', dst, '-m', 'comment', '--comment', RULE_COMMENT, '-j', chain];
        run('iptables', ['-w', '-I', c, '1', ...rule]);
        changes.push({ undo: () => void tryRun('iptables', ['-w', '-D', c, ...rule]) });
      }
    }
  } catch (err) {
    for (const c of changes.reverse()) c.undo();
    throw err;
  }
  return changes;
}

/**
 * For kwok mode: fake pods have IPs in the pod subnet but nothing behind them, and a client
 * (the operator reading a pod's model metadata) must get a fast refusal, never a packet out
 * of the default route. One chain per process, so a kwok cluster and a real node coexist.
 */
export function guardLocalRanges(): () => void {
  const changes = installGuard(`${GUARD_CHAIN}-${process.pid}`, { bridge: false });
  return () => {
    for (const c of changes.reverse()) c.undo();
  };
}

/** Network namespaces currently present. */
export function listNetns(): string[] {
  try {
    return readdirSync('/var/run/netns');
  } catch {
    return [];
  }
}

/** Removes network namespaces (their veth ends go with them). */
export function deleteNetns(names: string[]): void {
  for (const n of names) {
    if (!tryRun('ip', ['netns', 'delete', n])) {
      tryRun('umount', ['-l', `/var/run/netns/${n}`]);
      tryRun('rm', ['-f', `/var/run/netns/${n}`]);
    }
  }
}

/** Deletes the CNI bridge and any veth left attached to it. */
export function deleteBridge(): void {
  try {
    const links = run('ip', ['-o', 'link', 'show', 'master', BRIDGE]);
    for (const line of links.split('\n')) {
      const name = /^\d+:\s+([^@:]+)/.exec(line)?.[1];
      if (name) tryRun('ip', ['link', 'del', name]);
    }
  } catch {
    // no bridge
  }
  tryRun('ip', ['link', 'del', BRIDGE]);
}

/** Removes every KUBE-* chain and the rules that jump to them (kube-proxy's and kubelet's). */
export function flushKubeChains(): void {
  for (const [save, restore] of [
    ['iptables-save', 'iptables-restore'],
    ['ip6tables-save', 'ip6tables-restore'],
  ] as const) {
    let dump: string;
    try {
      dump = run(save, []);
    } catch {
      continue;
    }
    if (!dump.includes('KUBE-') && !dump.includes(RULE_COMMENT) && !dump.includes(GUARD_CHAIN)) continue;
    const kept = dump
      .split('\n')
      .filter((l) => !l.includes('KUBE-') && !l.includes(RULE_COMMENT) && !l.includes(GUARD_CHAIN))
      .join('\n');
    execFileSync(restore, ['-w'], { input: kept + '\n', stdio: ['pipe', 'ignore', 'pipe'] });
  }
}

/** True when any KUBE-* chain exists in iptables. */
export function hasKubeChains(): boolean {
  try {
    return run('iptables-save', []).split('\n').some((l) => l.startsWith(':KUBE-'));
  } catch {
    return false;
  }
}

/** True while the guard chain exists. */
export function hasGuardChain(): boolean {
  return tryRun('iptables', ['-w', '-S', GUARD_CHAIN]);
}

/** True when the node IP is on `lo`. */
export function nodeIpOnLo(nodeIp: string): boolean {
  return run('ip', ['-4', '-o', 'addr', 'show', 'dev', 'lo']).includes(` ${nodeIp}/`);
}

/** True when the CNI bridge exists. */
export function bridgeExists(): boolean {
  return tryRun('ip', ['link', 'show', BRIDGE]);
}
