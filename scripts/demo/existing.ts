// An existing cluster (kind, a cloud cluster …) as the demo's target: the user's kubectl and
// helm bound to the kubeconfig and context given, the image, Prometheus and model URLs the
// user gave, and traffic through `kubectl proxy` — the API server's service proxy picks a
// ready endpoint per request, so the split is real without any route from here to the pods.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { findBinary, runCli, type BinaryName } from '../../test/cluster/index.ts';
import type { DemoTarget } from './options.ts';
import type { DemoCluster, Teardown } from './target.ts';

type Existing = Extract<DemoTarget, { kind: 'existing' }>;

/** The pinned binary when the cache has it, else whatever version is on PATH. */
function tool(name: BinaryName): `/${string}` {
  try {
    return findBinary(name) as `/${string}`;
  } catch {
    try {
      return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim() as `/${string}`;
    } catch {
      throw new Error(`the demo on an existing cluster needs ${name} on PATH`);
    }
  }
}

/** Binds kubectl and helm to the user's cluster and starts a kubectl proxy for the traffic. */
export async function useExistingCluster(target: Existing, teardown: Teardown, log: (line: string) => void): Promise<DemoCluster> {
  if (target.kubeconfig && !existsSync(target.kubeconfig)) throw new Error(`--kubeconfig ${target.kubeconfig}: no such file`);
  const kubectlBin = tool('kubectl');
  const helmBin = tool('helm');
  const kubeFlags = [...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []), ...(target.context ? ['--context', target.context] : [])];
  const helmFlags = [...(target.kubeconfig ? ['--kubeconfig', target.kubeconfig] : []), ...(target.context ? ['--kube-context', target.context] : [])];
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await runCli(kubectlBin, [...kubeFlags, ...args], input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };
  const server = await kubectl(['config', 'view', '--minify', '-o', 'jsonpath={.clusters[0].cluster.server}']).catch((err: Error) => {
    throw new Error(`cannot read the kubeconfig: ${err.message}`);
  });
  await kubectl(['get', '--raw', '/readyz']).catch((err: Error) => {
    throw new Error(`the cluster at ${server} does not answer: ${err.message}`);
  });
  log(`existing cluster at ${server}; kubectl ${kubectlBin}, helm ${helmBin}`);

  // `kubectl proxy --port=0` picks a free port and says which on its first line.
  const proxy = spawn(kubectlBin, [...kubeFlags, 'proxy', '--port=0', '--address=127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  teardown.add('kubectl proxy', async () => {
    if (proxy.exitCode !== null) return;
    const exited = new Promise((r) => proxy.once('exit', r));
    proxy.kill('SIGTERM');
    await exited;
  });
  const proxyPort = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`kubectl proxy did not start: ${out}`)), 15_000);
    proxy.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proxy.stderr.on('data', (c: Buffer) => (out += c.toString()));
    proxy.once('exit', (code) => reject(new Error(`kubectl proxy exited ${code}: ${out}`)));
  });

  const imageValues = [
    `image.repository=${target.image.repository}`,
    ...(target.image.tag ? [`image.tag=${target.image.tag}`] : []),
    ...(target.image.digest ? [`image.digest=${target.image.digest}`] : []),
  ];
  return {
    kubectl,
    helm: async (args) => {
      const r = await runCli(helmBin, [...helmFlags, ...args], { timeoutMs: 10 * 60_000 });
      if (r.code !== 0) throw new Error(`helm ${args[0] ?? ''} failed (exit ${r.code}):\n${(r.stderr + r.stdout).trim()}`);
      return r.stdout;
    },
    kubeConfig: () => {
      const kc = new KubeConfig();
      if (target.kubeconfig) kc.loadFromFile(target.kubeconfig);
      else kc.loadFromDefault();
      if (target.context) kc.setCurrentContext(target.context);
      return kc;
    },
    chartValues: [...imageValues, `operator.defaultPrometheusAddress=${target.prometheusUrl}`],
    prometheusUrl: target.prometheusUrl,
    models: { good: target.model, ...(target.slowModel ? { slow: target.slowModel } : {}) },
    serviceUrl: (namespace, service) => Promise.resolve(`http://127.0.0.1:${proxyPort}/api/v1/namespaces/${namespace}/services/${service}:http/proxy`),
    keepHints: (namespace) => [
      `kubectl ${kubeFlags.join(' ')} -n ${namespace} get md,pods,svc`.replace(/ +/g, ' '),
      `to remove it: helm ${helmFlags.join(' ')} -n ${namespace} uninstall siskin && kubectl ${kubeFlags.join(' ')} delete namespace ${namespace}`.replace(/ +/g, ' '),
      '(the CRD modeldeployments.siskin.dev stays: Helm never deletes CRDs)',
    ],
    holdsCluster: false,
  };
}
