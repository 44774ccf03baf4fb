// kwok with fake nodes: pods scheduled onto them turn Running and Ready without running
// anything, so API-level suites and the scale benchmark get Deployments that converge.
// kwok v0.8 ships no built-in stages; the stage YAML comes from its own pinned module.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import { componentData, findBinary } from './binaries.ts';
import type { ControlPlane } from './controlPlane.ts';
import { NODE_IP } from './controlPlane.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { startProcess, type ManagedProcess } from './process.ts';

/** The annotation marking nodes kwok manages. */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
/** Fake pod IPs: a documentation range, never a private one; nothing sends traffic to them. */
export const KWOK_POD_CIDR = '198.51.100.0/24';

/** The stage YAML shipped by the pinned kwok module, joined into one config. */
export function kwokStageConfig(): string {
  const dir = join(componentData('kwok'), 'stages');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  if (files.length === 0) throw new Error(`no kwok stage YAML in ${dir}`);
  return files.map((f) => readFileSync(join(dir, f), 'utf8').trim()).join('\n---\n') + '\n';
}

/** Starts kwok against the control plane. */
export async function startKwok(cp: ControlPlane, dir: string): Promise<ManagedProcess> {
  const kubeconfig = writeKubeconfig(join(dir, 'kwok.kubeconfig'), { server: cp.server, caPem: cp.pki.caPem, ...cp.users.kwok });
  const config = join(dir, 'kwok-stages.yaml');
  writeFileSync(config, kwokStageConfig());
  const port = await freePort();
  const proc = startProcess({
    name: 'kwok',
    command: findBinary('kwok'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--config=${config}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      `--cidr=${KWOK_POD_CIDR}`,
      `--node-ip=${NODE_IP}`,
      `--server-address=127.0.0.1:${port}`,
    ],
    logFile: join(dir, 'kwok.log'),
  });
  await waitFor(
    'kwok /healthz',
    async () => ((await httpGet(`http://127.0.0.1:${port}/healthz`)).status === 200 ? true : undefined),
    { timeoutMs: 30_000, abort: () => (proc.running() ? undefined : `kwok exited:\n${proc.logTail()}`) },
  );
  return proc;
}

/** Creates count fake nodes (kwok-node-0…) with generous capacity, and waits until they are Ready. */
export async function createKwokNodes(kc: KubeConfig, count: number, opts: { maxPods?: number } = {}): Promise<string[]> {
  const core = kc.makeApiClient(CoreV1Api);
  const names = Array.from({ length: count }, (_, i) => `kwok-node-${i}`);
  const resources = { cpu: '64', memory: '512Gi', pods: String(opts.maxPods ?? 1000) };
  for (const name of names) {
    await core.createNode({
      body: {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name,
          annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
          labels: {
            'kubernetes.io/hostname': name,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            type: 'kwok',
          },
        },
        status: { allocatable: resources, capacity: resources },
      },
    });
  }
  await waitFor(
    `${count} kwok node(s) Ready`,
    async () => {
      const list = await core.listNode();
      const ready = list.items.filter(
        (n) => names.includes(n.metadata?.name ?? '') && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
      );
      return ready.length === count ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  return names;
}
