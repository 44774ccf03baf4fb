// etcd + kube-apiserver on loopback: secure serving, RBAC, token and cert authentication,
// service-account tokens, Service CIDR 198.18.0.0/24.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './binaries.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { generatePki, type Pki } from './pki.ts';
import { startProcess, type ManagedProcess } from './process.ts';

/** The Service CIDR of every local cluster: a benchmarking range, never a private one. */
export const SERVICE_CIDR = '198.18.0.0/24';
/** The ClusterIP of the `kubernetes` Service in that range. */
export const KUBERNETES_SERVICE_IP = '198.18.0.1';
/** The node IP the real-node mode adds to `lo`; the API server's cert is valid for it too. */
export const NODE_IP = '198.18.1.1';

/** A static-token identity the API server knows. */
export interface TokenUser {
  user: string;
  token: string;
  groups: string[];
}

/** A running etcd + kube-apiserver pair. */
export interface ControlPlane {
  server: string;
  port: number;
  pki: Pki;
  etcd: ManagedProcess;
  apiserver: ManagedProcess;
  /** Static-token users, by role: admin (system:masters), controllers, scheduler, node. */
  users: Record<'admin' | 'controllers' | 'scheduler' | 'kwok' | 'node' | 'proxy', TokenUser>;
  stop(): Promise<void>;
}

/** Options for the control plane. */
export interface ControlPlaneOptions {
  dir: string;
  /** Address the API server binds and advertises; loopback unless a real node needs another. */
  bindAddress?: string;
  advertiseAddress?: string;
  nodeName?: string;
  /** Service CIDR; SERVICE_CIDR unless a kwok-mode benchmark needs more ClusterIPs (see cluster.ts). */
  serviceCidr?: string;
  extraApiserverArgs?: string[];
  timeoutMs?: number;
}

function token(): string {
  return randomBytes(24).toString('hex');
}

async function startEtcd(dir: string): Promise<{ proc: ManagedProcess; url: string }> {
  const clientPort = await freePort();
  const peerPort = await freePort();
  const url = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = startProcess({
    name: 'etcd',
    command: findBinary('etcd'),
    args: [
      '--name=default',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=default=${peer}`,
      '--unsafe-no-fsync',
      '--quota-backend-bytes=8589934592',
      '--log-level=warn',
    ],
    logFile: join(dir, 'etcd.log'),
  });
  await waitFor(
    'etcd health',
    async () => ((await httpGet(`${url}/health`)).status === 200 ? true : undefined),
    { timeoutMs: 30_000, intervalMs: 100, abort: () => (proc.running() ? undefined : `etcd exited:\n${proc.logTail()}`) },
  );
  return { proc, url };
}

/** Starts etcd and kube-apiserver; resolves once /readyz answers ok. */
export async function startControlPlane(opts: ControlPlaneOptions): Promise<ControlPlane> {
  const bind = opts.bindAddress ?? '127.0.0.1';
  const advertise = opts.advertiseAddress ?? bind;
  const pkiDir = join(opts.dir, 'pki');
  mkdirSync(pkiDir, { recursive: true });
  const pki = generatePki(pkiDir, {
    ips: [...new Set(['127.0.0.1', KUBERNETES_SERVICE_IP, NODE_IP, bind, advertise])],
    dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
  });
  const nodeName = opts.nodeName ?? 'siskin-node';
  const users = {
    admin: { user: 'siskin-admin', token: token(), groups: ['system:masters'] },
    // The controller-manager runs every controller under one identity here, so it needs
    // more than its default role (use-service-account-credentials is off).
    controllers: { user: 'system:kube-controller-manager', token: token(), groups: ['system:masters'] },
    scheduler: { user: 'system:kube-scheduler', token: token(), groups: [] },
    kwok: { user: 'siskin-kwok', token: token(), groups: ['system:masters'] },
    node: { user: `system:node:${nodeName}`, token: token(), groups: ['system:nodes'] },
    // Bound to system:node-proxier by the API server's bootstrap RBAC.
    proxy: { user: 'system:kube-proxy', token: token(), groups: [] },
  };
  const tokenFile = join(pkiDir, 'tokens.csv');
  writeFileSync(
    tokenFile,
    Object.values(users)
      .map((u) => `${u.token},${u.user},${u.user},"${u.groups.join(',')}"`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );

  const etcd = await startEtcd(opts.dir);
  const port = await freePort(bind === '0.0.0.0' ? '127.0.0.1' : bind);
  const apiserver = startProcess({
    name: 'kube-apiserver',
    command: findBinary('kube-apiserver'),
    args: [
      `--etcd-servers=${etcd.url}`,
      `--bind-address=${bind}`,
      `--advertise-address=${advertise}`,
      `--secure-port=${port}`,
      `--cert-dir=${join(opts.dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${tokenFile}`,
      '--authorization-mode=Node,RBAC',
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-cluster-ip-range=${opts.serviceCidr ?? SERVICE_CIDR}`,
      `--kubelet-client-certificate=${pki.kubeletClientCert}`,
      `--kubelet-client-key=${pki.kubeletClientKey}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      '--allow-privileged=true',
      '--profiling=false',
      // A loopback advertise address cannot be an Endpoints address: skip that reconciler then.
      ...(advertise.startsWith('127.') ? ['--endpoint-reconciler-type=none'] : []),
      '--v=1',
      ...(opts.extraApiserverArgs ?? []),
    ],
    logFile: join(opts.dir, 'kube-apiserver.log'),
  });
  const host = bind === '0.0.0.0' ? '127.0.0.1' : bind;
  const server = `https://${host}:${port}`;
  const stop = async (): Promise<void> => {
    await apiserver.stop(15_000);
    await etcd.proc.stop();
  };
  try {
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const r = await httpGet(`${server}/readyz`, { ca: pki.caPem, token: users.admin.token });
        return r.status === 200 ? true : undefined;
      },
      {
        timeoutMs: opts.timeoutMs ?? 90_000,
        intervalMs: 100,
        abort: () => (apiserver.running() ? undefined : `kube-apiserver exited:\n${apiserver.logTail()}`),
      },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { server, port, pki, etcd: etcd.proc, apiserver, users, stop };
}
