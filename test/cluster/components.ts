// Optional control-plane components: kube-controller-manager and kube-scheduler.
import { join } from 'node:path';
import { findBinary } from './binaries.ts';
import type { ControlPlane } from './controlPlane.ts';
import { writeKubeconfig } from './kubeconfig.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { startProcess, type ManagedProcess } from './process.ts';

async function waitHealthy(proc: ManagedProcess, port: number): Promise<void> {
  await waitFor(
    `${proc.name} /healthz`,
    async () => ((await httpGet(`https://127.0.0.1:${port}/healthz`, { insecure: true })).status === 200 ? true : undefined),
    { timeoutMs: 60_000, intervalMs: 200, abort: () => (proc.running() ? undefined : `${proc.name} exited:\n${proc.logTail()}`) },
  );
}

const servingArgs = (port: number, dir: string, name: string): string[] => [
  '--bind-address=127.0.0.1',
  `--secure-port=${port}`,
  `--cert-dir=${join(dir, `${name}-certs`)}`,
  '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
  '--leader-elect=false',
];

/** Starts kube-controller-manager: garbage collector, Deployment/ReplicaSet/EndpointSlice and the rest. */
export async function startControllerManager(cp: ControlPlane, dir: string): Promise<ManagedProcess> {
  const kubeconfig = writeKubeconfig(join(dir, 'controller-manager.kubeconfig'), {
    server: cp.server,
    caPem: cp.pki.caPem,
    ...cp.users.controllers,
  });
  const port = await freePort();
  const proc = startProcess({
    name: 'kube-controller-manager',
    command: findBinary('kube-controller-manager'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      ...servingArgs(port, dir, 'controller-manager'),
      `--root-ca-file=${cp.pki.caCert}`,
      `--service-account-private-key-file=${cp.pki.serviceAccountKey}`,
      `--cluster-signing-cert-file=${cp.pki.caCert}`,
      `--cluster-signing-key-file=${cp.pki.caKey}`,
      '--use-service-account-credentials=false',
      // Fast reactions matter more than API economy in a test cluster.
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--concurrent-gc-syncs=20',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ],
    logFile: join(dir, 'kube-controller-manager.log'),
  });
  await waitHealthy(proc, port);
  return proc;
}

/** Starts kube-scheduler. */
export async function startScheduler(cp: ControlPlane, dir: string): Promise<ManagedProcess> {
  const kubeconfig = writeKubeconfig(join(dir, 'scheduler.kubeconfig'), {
    server: cp.server,
    caPem: cp.pki.caPem,
    ...cp.users.scheduler,
  });
  const port = await freePort();
  const proc = startProcess({
    name: 'kube-scheduler',
    command: findBinary('kube-scheduler'),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      ...servingArgs(port, dir, 'scheduler'),
      '--v=1',
    ],
    logFile: join(dir, 'kube-scheduler.log'),
  });
  await waitHealthy(proc, port);
  return proc;
}
