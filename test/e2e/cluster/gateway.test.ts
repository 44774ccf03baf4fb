// A real Gateway API data plane: Traefik applies an HTTPRoute's backend weights to real
// traffic between two Services on the real node.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type V1Deployment } from '@kubernetes/client-node';
import {
  buildBusyboxHttpdImage,
  httpGet,
  installGatewayApiCrds,
  startCluster,
  startTraefik,
  TRAEFIK_CONTROLLER,
  waitFor,
  type LocalCluster,
  type LocalTraefik,
} from '../../cluster/index.ts';

const NS = 'default';
const GW = 'gateway.networking.k8s.io';

function backend(name: string): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: 'httpd',
              image: `siskin.local/httpd-${name}:1`,
              imagePullPolicy: 'IfNotPresent',
              readinessProbe: { httpGet: { path: '/index.html', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

describe('Gateway API through Traefik', () => {
  let cluster: LocalCluster;
  let traefik: LocalTraefik | undefined;

  beforeAll(async () => {
    cluster = await startCluster({ realNode: true });
    for (const name of ['stable', 'canary']) {
      const work = join(cluster.dir, `image-${name}`);
      mkdirSync(work);
      cluster.node!.importImage(buildBusyboxHttpdImage(`siskin.local/httpd-${name}:1`, work, { 'index.html': `${name}\n` }));
    }
  });
  afterAll(async () => {
    await traefik?.stop();
    await cluster?.stop();
  });

  test('an HTTPRoute with weights 80/20 splits real requests within a few percent', async () => {
    const crds = await installGatewayApiCrds(cluster);
    expect(crds).toEqual(expect.arrayContaining(['httproutes.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io']));
    const kc = cluster.kubeConfig();
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    for (const name of ['stable', 'canary']) {
      await apps.createNamespacedDeployment({ namespace: NS, body: backend(name) });
      await core.createNamespacedService({
        namespace: NS,
        body: { metadata: { name }, spec: { selector: { app: name }, ports: [{ port: 80, targetPort: 8080 }] } },
      });
    }
    await cluster.kubectlOk(['wait', '--for=condition=Available', 'deployment/stable', 'deployment/canary', '--timeout=120s']);

    const admin = JSON.parse(await cluster.kubectlOk(['config', 'view', '--raw', '-o', 'json'])) as { users: { user: { token: string } }[] };
    traefik = await startTraefik(cluster, admin.users[0]!.user.token);
    const custom = kc.makeApiClient(CustomObjectsApi);
    await custom.createClusterCustomObject({
      group: GW,
      version: 'v1',
      plural: 'gatewayclasses',
      body: { apiVersion: `${GW}/v1`, kind: 'GatewayClass', metadata: { name: 'traefik' }, spec: { controllerName: TRAEFIK_CONTROLLER } },
    });
    await custom.createNamespacedCustomObject({
      group: GW,
      version: 'v1',
      namespace: NS,
      plural: 'gateways',
      body: {
        apiVersion: `${GW}/v1`,
        kind: 'Gateway',
        metadata: { name: 'web' },
        spec: { gatewayClassName: 'traefik', listeners: [{ name: 'http', protocol: 'HTTP', port: traefik.port }] },
      },
    });
    await custom.createNamespacedCustomObject({
      group: GW,
      version: 'v1',
      namespace: NS,
      plural: 'httproutes',
      body: {
        apiVersion: `${GW}/v1`,
        kind: 'HTTPRoute',
        metadata: { name: 'model' },
        spec: {
          parentRefs: [{ name: 'web' }],
          rules: [
            {
              backendRefs: [
                { name: 'stable', port: 80, weight: 80 },
                { name: 'canary', port: 80, weight: 20 },
              ],
            },
          ],
        },
      },
    });
    // Traefik reports acceptance on the route's status, as a Gateway API implementation must.
    await waitFor('HTTPRoute accepted by Traefik', async () => {
      const route = (await custom.getNamespacedCustomObject({ group: GW, version: 'v1', namespace: NS, plural: 'httproutes', name: 'model' })) as {
        status?: { parents?: { conditions?: { type: string; status: string }[] }[] };
      };
      return route.status?.parents?.[0]?.conditions?.some((c) => c.type === 'Accepted' && c.status === 'True') ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250 });
    await waitFor('the route to serve', async () => ((await httpGet(`${traefik!.url}/index.html`)).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });

    const counts: Record<string, number> = {};
    for (let i = 0; i < 200; i++) {
      const r = await httpGet(`${traefik.url}/index.html`);
      expect(r.status).toBe(200);
      counts[r.body.trim()] = (counts[r.body.trim()] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(['canary', 'stable']);
    expect(Math.abs(counts.stable! - 160)).toBeLessThanOrEqual(10);
    expect(Math.abs(counts.canary! - 40)).toBeLessThanOrEqual(10);
  });
});
