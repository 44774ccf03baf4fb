// Optional control-plane components: kube-controller-manager and kube-scheduler.
import { join } from 'node:path';
import { findBinary } from './binaries.ts';
import type { ControlPlane, TokenUser } from './controlPlane.ts';
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

/**
 * Starts a kube-* component that serves health over HTTPS on loopback and authenticates
 * to the API server as user; resolves once /healthz answers.
 */
async function startComponent(
  cp: ControlPlane,
  dir: string,
  binary: 'kube-controller-manager' | 'kube-scheduler',
  user: TokenUser,
  extraArgs: string[],
): Promise<ManagedProcess> {
  const kubeconfig = writeKubeconfig(join(dir, `${binary}.kubeconfig`), { server: cp.server, caPem: cp.pki.caPem, ...user });
  const port = await freePort();
  const proc = startProcess({
    name: binary,
    command: findBinary(binary),
    args: [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, `${binary}-certs`)}`,
      '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics',
      '--leader-elect=false',
      '--v=1',
      ...extraArgs,
    ],
    logFile: join(dir, `${binary}.log`),
  });
  await waitHealthy(proc, port);
  return proc;
}

/** Starts kube-controller-manager: garbage collector, Deployment/ReplicaSet/EndpointSlice and the rest. */
export function startControllerManager(cp: ControlPlane, dir: string): Promise<ManagedProcess> {
  return startComponent(cp, dir, 'kube-controller-manager', cp.users.controllers, [
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
  ]);
}

/** Starts kube-scheduler. */
export function startScheduler(cp: ControlPlane, dir: string): Promise<ManagedProcess> {
  return startComponent(cp, dir, 'kube-scheduler', cp.users.scheduler, []);
}
