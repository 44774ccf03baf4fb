// The pinned versions of the local cluster's binaries, read from versions.env (the one
// place they are written, shared with build-binaries.sh).
import { readFileSync } from 'node:fs';

/** Pinned component versions, keyed as in versions.env. */
export interface Versions {
  KUBERNETES_VERSION: string;
  KUBERNETES_STAGING_VERSION: string;
  ETCD_VERSION: string;
  KWOK_VERSION: string;
  HELM_VERSION: string;
  PROMETHEUS_MODULE_VERSION: string;
  PROMETHEUS_VERSION: string;
  TRAEFIK_VERSION: string;
  GATEWAY_API_VERSION: string;
  /** sigs.k8s.io/cli-utils, whose kstatus the checker in test/cluster/kstatus is built on. */
  CLI_UTILS_VERSION: string;
  KREW_VERSION: string;
}

/** Parses KEY=VALUE lines, ignoring blanks and # comments. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z0-9_]+)=(\S+)$/.exec(line);
    if (!m) throw new Error(`versions.env line ${i + 1}: expected KEY=VALUE, got '${line}'`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

const required: (keyof Versions)[] = [
  'KUBERNETES_VERSION',
  'KUBERNETES_STAGING_VERSION',
  'ETCD_VERSION',
  'KWOK_VERSION',
  'HELM_VERSION',
  'PROMETHEUS_MODULE_VERSION',
  'PROMETHEUS_VERSION',
  'TRAEFIK_VERSION',
  'GATEWAY_API_VERSION',
  'CLI_UTILS_VERSION',
  'KREW_VERSION',
];

/** Loads and validates versions.env next to this file. */
export function loadVersions(): Versions {
  const parsed = parseEnvFile(readFileSync(new URL('./versions.env', import.meta.url), 'utf8'));
  for (const key of required) {
    if (!parsed[key]) throw new Error(`versions.env: ${key} is missing`);
  }
  return parsed as unknown as Versions;
}
