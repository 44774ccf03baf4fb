// Finds the local cluster's binaries: KUBEBUILDER_ASSETS (the envtest convention), then
// PATH (only at the pinned version), then the version-keyed cache that build-binaries.sh
// fills. A missing binary is an error that says which command provides it — never a skip.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isExecutable, UnknownToolError } from './hostTools.ts';
import { loadVersions, type Versions } from './versions.ts';

/** Every binary the library can run. */
export type BinaryName =
  | 'etcd'
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubectl'
  | 'kubelet'
  | 'kube-proxy'
  | 'kwok'
  | 'helm'
  | 'prometheus'
  | 'promtool'
  | 'traefik'
  | 'kstatus'
  | 'kubectl-krew';

interface BinarySpec {
  component: string;
  version: (v: Versions) => string;
  /** Text that `<binary> <versionArgs>` prints when it is the pinned version. */
  versionArgs: string[];
  expect: (v: Versions) => string;
}

const k8s = (args: string[] = ['--version']): BinarySpec => ({
  component: 'kubernetes',
  version: (v) => v.KUBERNETES_VERSION,
  versionArgs: args,
  expect: (v) => v.KUBERNETES_VERSION,
});

const specs: Record<BinaryName, BinarySpec> = {
  etcd: { component: 'etcd', version: (v) => v.ETCD_VERSION, versionArgs: ['--version'], expect: (v) => v.ETCD_VERSION.slice(1) },
  'kube-apiserver': k8s(),
  'kube-controller-manager': k8s(),
  'kube-scheduler': k8s(),
  kubectl: k8s(['version', '--client']),
  kubelet: k8s(),
  'kube-proxy': k8s(),
  kwok: { component: 'kwok', version: (v) => v.KWOK_VERSION, versionArgs: ['--version'], expect: (v) => v.KWOK_VERSION.slice(1) },
  helm: { component: 'helm', version: (v) => v.HELM_VERSION, versionArgs: ['version', '--short'], expect: (v) => v.HELM_VERSION },
  prometheus: { component: 'prometheus', version: (v) => v.PROMETHEUS_VERSION, versionArgs: ['--version'], expect: (v) => v.PROMETHEUS_VERSION },
  promtool: { component: 'prometheus', version: (v) => v.PROMETHEUS_VERSION, versionArgs: ['--version'], expect: (v) => v.PROMETHEUS_VERSION },
  traefik: { component: 'traefik', version: (v) => v.TRAEFIK_VERSION, versionArgs: ['version'], expect: (v) => v.TRAEFIK_VERSION },
  // Flux's readiness library as a checker (test/cluster/kstatus), keyed by the library's version.
  kstatus: { component: 'kstatus', version: (v) => v.CLI_UTILS_VERSION, versionArgs: ['--version'], expect: (v) => `sigs.k8s.io/cli-utils ${v.CLI_UTILS_VERSION}` },
  // `krew version` works offline: its GitTag row; it only creates the (existing) KREW_ROOT dirs.
  'kubectl-krew': { component: 'krew', version: (v) => v.KREW_VERSION, versionArgs: ['version'], expect: (v) => v.KREW_VERSION },
};

/** The cache root: SISKIN_CACHE, else $XDG_CACHE_HOME/siskin, else ~/.cache/siskin. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SISKIN_CACHE) return env.SISKIN_CACHE;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'siskin');
}

/** The cache directory of one component at its pinned version. */
export function componentDir(component: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheRoot(env), 'bin', `${component}-${version}`);
}

/** The build script that fills the cache. */
export const buildScript = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));

function printsVersion(path: string, spec: BinarySpec, versions: Versions): boolean {
  try {
    const out = execFileSync(path, spec.versionArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
    return out.includes(spec.expect(versions));
  } catch {
    return false;
  }
}

/** True when name is one of the cluster library's binaries. */
export function isBinaryName(name: string): name is BinaryName {
  return Object.hasOwn(specs, name);
}

/** The names of the cluster library's binaries. */
export function knownBinaries(): BinaryName[] {
  return Object.keys(specs) as BinaryName[];
}

const found = new Map<BinaryName, string>();

/** Where a binary is, or a clear error naming what is missing and how to get it. */
export function findBinary(name: BinaryName, env: NodeJS.ProcessEnv = process.env): string {
  const hit = found.get(name);
  if (hit) return hit;
  // Callers outside TypeScript's reach (a name from a flag, a file) get a typed error, not a TypeError.
  if (!isBinaryName(name)) throw new UnknownToolError(name, knownBinaries());
  const versions = loadVersions();
  const spec = specs[name];
  const candidates: { path: string; check: boolean }[] = [];
  if (env.KUBEBUILDER_ASSETS) candidates.push({ path: join(env.KUBEBUILDER_ASSETS, name), check: false });
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    candidates.push({ path: join(dir, name), check: true });
  }
  const cached = componentDir(spec.component, spec.version(versions), env);
  if (existsSync(join(cached, '.complete'))) candidates.push({ path: join(cached, name), check: false });
  for (const c of candidates) {
    if (isExecutable(c.path) && (!c.check || printsVersion(c.path, spec, versions))) {
      found.set(name, c.path);
      return c.path;
    }
  }
  throw new Error(
    `${name} ${spec.version(versions)} not found in KUBEBUILDER_ASSETS, on PATH (at that version) or in ${cached}. ` +
      `Build it from the Go module proxy (needs Go; cached, only the first run pays): ` +
      `bash ${buildScript} ${spec.component}   (or: npm run cluster:binaries)`,
  );
}

/** The directory of data files a component ships (kwok stages, Gateway API CRDs). */
export function componentData(component: 'kwok' | 'gateway-api', env: NodeJS.ProcessEnv = process.env): string {
  const v = loadVersions();
  const dir = componentDir(component, component === 'kwok' ? v.KWOK_VERSION : v.GATEWAY_API_VERSION, env);
  if (!existsSync(join(dir, '.complete'))) {
    throw new Error(`${component} files not found in ${dir}. Build them: bash ${buildScript} ${component}`);
  }
  return dir;
}
