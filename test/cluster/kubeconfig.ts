// Kubeconfig files for the local cluster: bearer-token users against one CA-pinned server.
import { writeFileSync } from 'node:fs';

/** Renders a single-context kubeconfig (JSON is valid YAML, and kubectl reads it). */
export function renderKubeconfig(opts: { server: string; caPem: string; user: string; token: string; namespace?: string }): string {
  const cfg = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: 'siskin-local', cluster: { server: opts.server, 'certificate-authority-data': Buffer.from(opts.caPem).toString('base64') } },
    ],
    users: [{ name: opts.user, user: { token: opts.token } }],
    contexts: [
      {
        name: `${opts.user}@siskin-local`,
        context: { cluster: 'siskin-local', user: opts.user, ...(opts.namespace ? { namespace: opts.namespace } : {}) },
      },
    ],
    'current-context': `${opts.user}@siskin-local`,
    preferences: {},
  };
  return JSON.stringify(cfg, null, 2) + '\n';
}

/** Writes a kubeconfig readable only by its owner (it holds a credential). */
export function writeKubeconfig(path: string, opts: Parameters<typeof renderKubeconfig>[0]): string {
  writeFileSync(path, renderKubeconfig(opts), { mode: 0o600 });
  return path;
}
