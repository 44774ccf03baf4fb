// What the serving pods of each revision would report, for kwok pods that do not run: the
// series the canary analysis reads (siskin_requests_total by route and code, with the
// namespace label Prometheus' pod relabelling adds), served on one /metrics page that a real
// Prometheus scrapes with honor_labels. A revision whose version starts with "bad" answers
// half its requests 500; every other answers all 200. The revisions come from the
// ModelDeployments' status, as the operator reports them, read with the admin's credentials.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { INFER_ROUTES } from '../../contract/http.ts';
import { SERVING_DEFAULT_LABELS, SERVING_METRICS } from '../../contract/metrics.ts';
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import type { LocalCluster } from '../cluster/index.ts';

/** Requests per second each revision answers. */
const RATE = 10;

/** The series generator. */
export interface Series {
  /** host:port of its /metrics page. */
  target: string;
  stop(): Promise<void>;
}

interface Revision {
  namespace: string;
  model: string;
  revision: string;
  bad: boolean;
  since: number;
}

/** Starts the page and the poll of ModelDeployments in `namespace`. */
export async function startSeries(cluster: LocalCluster, namespace: string): Promise<Series> {
  const revisions = new Map<string, Revision>();
  const custom = cluster.kubeConfig().makeApiClient(CustomObjectsApi);
  let stopped = false;
  const poll = async (): Promise<void> => {
    while (!stopped) {
      try {
        const r = (await custom.listNamespacedCustomObject({ group: 'siskin.dev', version: 'v1alpha1', namespace, plural: 'modeldeployments' })) as {
          items: { metadata: { name: string }; spec: { model: { name?: string } }; status?: ModelDeploymentStatus }[];
        };
        for (const md of r.items) {
          for (const rev of [md.status?.stable, md.status?.canary]) {
            if (rev?.name === undefined) continue;
            const key = `${md.metadata.name}/${rev.name}`;
            if (!revisions.has(key)) revisions.set(key, { namespace, model: md.spec.model.name ?? md.metadata.name, revision: rev.name, bad: rev.version.startsWith('bad'), since: Date.now() });
          }
        }
      } catch {
        // The API server may be the fault under test: keep what is known, poll again.
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  };
  const polling = poll();
  const name = SERVING_METRICS.requests.name;
  const route = INFER_ROUTES[0];
  const page = (): string => {
    const lines = [`# TYPE ${name} counter`];
    const now = Date.now();
    for (const r of revisions.values()) {
      const total = Math.floor(((now - r.since) / 1000) * RATE);
      const errors = r.bad ? Math.floor(total / 2) : 0;
      const labels = `namespace="${r.namespace}",${SERVING_DEFAULT_LABELS.model}="${r.model}",${SERVING_DEFAULT_LABELS.revision}="${r.revision}",route="${route}"`;
      lines.push(`${name}{${labels},code="200"} ${total - errors}`);
      if (r.bad) lines.push(`${name}{${labels},code="500"} ${errors}`);
    }
    return `${lines.join('\n')}\n`;
  };
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(page());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    target: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      stopped = true;
      await polling;
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
