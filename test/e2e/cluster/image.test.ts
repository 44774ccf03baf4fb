// The repository's Dockerfile, built by the local Docker engine on the locally made base
// image, loaded into the real node's containerd and run as a real, non-root pod.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  loadVersions,
  saveImage,
  startCluster,
  type DockerEngine,
  type LocalCluster,
} from '../../cluster/index.ts';

const TAG = 'siskin.local/siskin:e2e';
// Node's own HTTP server from the image: proves the runtime, user and filesystem the image gives.
const SERVER = `require('node:http').createServer((q, s) => {
  let writable = true;
  try { require('node:fs').writeFileSync('/app/probe', 'x'); } catch { writable = false; }
  s.end(JSON.stringify({ node: process.version, uid: process.getuid(), rootWritable: writable }));
}).listen(8080);`;

describe('the repository image on the real node', () => {
  let docker: DockerEngine | undefined;
  let cluster: LocalCluster;

  beforeAll(async () => {
    docker = await ensureDockerEngine();
    const base = await ensureBaseImage();
    expect(base).toMatch(/^siskin\.local\/node-base:24\./);
    await buildRepoImage(TAG, base);
    cluster = await startCluster({ realNode: true });
    cluster.node!.importImage(saveImage(TAG, join(cluster.dir, 'image.tar')));
  });
  afterAll(async () => {
    await cluster?.stop();
    await docker?.stop();
  });

  test('the image runs as a non-root pod on a read-only root filesystem with the pinned Node 24', async () => {
    expect(cluster.node!.ctr(['images', 'ls', '-q'])).toContain(TAG);
    const kc = cluster.kubeConfig();
    await kc.makeApiClient(AppsV1Api).createNamespacedDeployment({
      namespace: 'default',
      body: {
        metadata: { name: 'img' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'img' } },
          template: {
            metadata: { labels: { app: 'img' } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: 'app',
                  image: TAG,
                  imagePullPolicy: 'IfNotPresent',
                  command: ['node', '-e', SERVER],
                  readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
                  securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
                },
              ],
            },
          },
        },
      },
    });
    await cluster.kubectlOk(['wait', '--for=condition=Available', 'deployment/img', '--timeout=120s']);
    const pod = (await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: 'default', labelSelector: 'app=img' })).items[0]!;
    const body = execFileSync('curl', ['-sS', '--max-time', '5', `http://${pod.status!.podIP!}:8080/`], { encoding: 'utf8' });
    const nodeVersion = execFileSync(join(process.cwd(), 'node_modules', '.bin', 'node'), ['--version'], { encoding: 'utf8' }).trim();
    expect(JSON.parse(body)).toEqual({ node: nodeVersion, uid: 65532, rootWritable: false });
    expect(loadVersions().KUBERNETES_VERSION).toBe('v1.34.4');
  });
});
