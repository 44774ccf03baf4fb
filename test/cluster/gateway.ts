// A real Gateway API data plane: the Gateway API CRDs from their pinned Go module, and
// Traefik on the host with its kubernetesGateway provider, routing to pod IPs on the bridge.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { componentData, findBinary } from './binaries.ts';
import type { LocalCluster } from './cluster.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { startProcess, type ManagedProcess } from './process.ts';

/** The GatewayClass controller name Traefik answers to. */
export const TRAEFIK_CONTROLLER = 'traefik.io/gateway-controller';

/** Installs the standard-channel Gateway API CRDs and waits until they are established. */
export async function installGatewayApiCrds(cluster: LocalCluster): Promise<string[]> {
  const dir = componentData('gateway-api');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort();
  await cluster.kubectlOk(['apply', '--server-side', ...files.flatMap((f) => ['-f', join(dir, f)])]);
  const names = files.map((f) => f.replace(/^gateway\.networking\.k8s\.io_/, '').replace(/\.yaml$/, '') + '.gateway.networking.k8s.io');
  await cluster.kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...names.map((n) => `crd/${n}`)]);
  return names;
}

/** A running Traefik. */
export interface LocalTraefik {
  /** The HTTP entrypoint's port on 127.0.0.1; a Gateway listener must use this port. */
  readonly port: number;
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

/** Starts Traefik against the cluster's API server with one HTTP entrypoint on loopback. */
export async function startTraefik(cluster: LocalCluster, token: string): Promise<LocalTraefik> {
  const binary = findBinary('traefik');
  const port = await freePort();
  const pingPort = await freePort();
  const dir = cluster.dir;
  const caFile = join(dir, 'traefik-ca.crt');
  writeFileSync(caFile, cluster.caPem);
  const config = join(dir, 'traefik.yaml');
  writeFileSync(
    config,
    YAML.stringify({
      entryPoints: { web: { address: `127.0.0.1:${port}` }, ping: { address: `127.0.0.1:${pingPort}` } },
      ping: { entryPoint: 'ping' },
      providers: { kubernetesGateway: { endpoint: cluster.server, token, certAuthFilePath: caFile, throttleDuration: '0s' } },
      log: { level: 'WARN' },
      global: { checkNewVersion: false, sendAnonymousUsage: false },
    }),
  );
  const proc = startProcess({ name: 'traefik', command: binary, args: [`--configfile=${config}`], logFile: join(dir, 'traefik.log') });
  await waitFor('traefik /ping', async () => ((await httpGet(`http://127.0.0.1:${pingPort}/ping`)).status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    abort: () => (proc.running() ? undefined : `traefik exited:\n${proc.logTail()}`),
  });
  return { port, url: `http://127.0.0.1:${port}`, process: proc, stop: () => proc.stop() };
}
