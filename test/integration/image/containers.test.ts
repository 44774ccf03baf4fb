// The repository image run by Testcontainers on the local Docker engine, with no cluster node:
// the serving bundle answers the Open Inference Protocol on a real ONNX model, and the default
// command (the operator's bundle) reconciles against a local API server under its own RBAC.
// The other tests run the TypeScript sources; this one runs what scripts/build-dist.ts made of them.
// Both run as the image's non-root user on a read-only root filesystem, on host networking
// (this machine's Docker has no bridge: every port below is a host loopback port).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { chownSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppsV1Api, CoordinationV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import type { StartedTestContainer, WaitStrategy } from 'testcontainers';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../../operator/api/rbac.ts';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { ENTRY_POINTS } from '../../../operator/resources/image.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  freePort,
  makeTempDir,
  serviceAccountWithRules,
  startCluster,
  waitFor,
  type DockerEngine,
  type LocalCluster,
} from '../../cluster/index.ts';
import { writeFixture } from '../../fixtures/onnxModels.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

// Set before Testcontainers loads. Ryuk, its reaper, is an image pull away (no registry here):
// afterAll removes every container instead. With /.dockerenv present Testcontainers looks for
// the Docker host on the "bridge" network's gateway, and this engine has no bridge.
process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
const { BoundPorts, GenericContainer, ImageName, Wait, getContainerRuntimeClient } = await import('testcontainers');

const IMAGE = 'siskin.local/siskin:containers';
const CRD = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));
const ROWS = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3];
const inferBody = (inputName = 'input'): string =>
  JSON.stringify({ id: 'tc-1', inputs: [{ name: inputName, datatype: 'FP32', shape: [2, 4], data: ROWS }] });

/** Testcontainers has no builder method for a read-only root filesystem: set it on the HostConfig. */
class ReadOnlyRootContainer extends GenericContainer {
  withReadOnlyRootFilesystem(): this {
    this.hostConfig.ReadonlyRootfs = true;
    return this;
  }
}

/**
 * Wait.forHttp looks the port up among the container's port bindings, and a host-network
 * container has none: its port is the host's own, so the binding is the identity.
 */
function httpOnHostNetwork(path: string, port: number): WaitStrategy {
  const http = Wait.forHttp(path, port, { abortOnContainerExit: true }).forStatusCode(200);
  const identity = new BoundPorts();
  identity.setBinding(port, port);
  const strategy: WaitStrategy = {
    waitUntilReady: (container) => http.waitUntilReady(container, identity),
    withStartupTimeout: (ms) => {
      http.withStartupTimeout(ms);
      return strategy;
    },
    isStartupTimeoutSet: () => http.isStartupTimeoutSet(),
    getStartupTimeout: () => http.getStartupTimeout(),
  };
  return strategy;
}

describe('the repository image under Testcontainers', () => {
  let docker: DockerEngine | undefined;
  let tmp: { path: string; remove: () => void } | undefined;
  // Jest runs nested beforeAll hooks even after this block's own failed: they skip unless set.
  let imageReady = false;
  const containerIds: string[] = [];
  const logs = new Map<string, string[]>();

  /** The image's container, as its own user, read-only, host network, a tmpfs on /tmp; logs kept for failures. */
  const imageContainer = (name: string): ReadOnlyRootContainer => {
    const lines: string[] = [];
    logs.set(name, lines);
    return new ReadOnlyRootContainer(IMAGE)
      .withNetworkMode('host')
      .withReadOnlyRootFilesystem()
      .withTmpFs({ '/tmp': 'rw' })
      .withStartupTimeout(90_000)
      .withLogConsumer((stream) => stream.on('data', (chunk: Buffer | string) => lines.push(String(chunk))));
  };
  const started = async (container: ReadOnlyRootContainer): Promise<StartedTestContainer> => {
    const c = await container.start();
    containerIds.push(c.getId());
    return c;
  };
  /** Rethrows with the container's recent log lines, which say why more often than the assertion does. */
  const explained = async <T>(name: string, p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- ${name} logs ---\n${(logs.get(name) ?? []).join('').slice(-4000)}`);
    });
  const inspect = async (c: StartedTestContainer) => {
    const client = await getContainerRuntimeClient();
    return client.container.inspect(client.container.getById(c.getId()));
  };
  /** What the image's process sees of its identity and filesystem, from inside the running container. */
  const expectNonRootAndReadOnly = async (c: StartedTestContainer): Promise<void> => {
    const info = await inspect(c);
    // No override: the user is the image's, numeric so that runAsNonRoot can verify it.
    expect(info.Config.User).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    const uid = await c.exec(['node', '-e', 'console.log(process.getuid())']);
    expect(uid.exitCode).toBe(0);
    expect(Number(uid.stdout.trim())).toBe(Number(info.Config.User.split(':')[0]));
    const app = await c.exec(['node', '-e', "require('fs').writeFileSync('/app/x', 'x')"]);
    expect(app.exitCode).not.toBe(0);
    expect(app.stderr).toContain('EROFS');
    const scratch = await c.exec(['node', '-e', "require('fs').writeFileSync('/tmp/x', 'x')"]);
    expect(scratch).toMatchObject({ exitCode: 0, stderr: '' });
  };

  beforeAll(async () => {
    try {
      docker = await ensureDockerEngine();
    } catch (err) {
      throw new Error(
        `these tests run the image on a local Docker engine and none could be started (${err instanceof Error ? err.message : String(err)}). ` +
          'Install Debian\'s engine (apt-get install docker.io) and run the tests as root so it can be started ' +
          '(dockerd --bridge=none --iptables=false), or start a Docker engine yourself.',
      );
    }
    tmp = makeTempDir('containers');
    // The base image is cached; this docker build is the slow part (a minute or two).
    await buildRepoImage(IMAGE, await ensureBaseImage());
    imageReady = true;
  }, 20 * 60_000);

  afterAll(async () => {
    // Also after a failed test: force-remove stops a running container first. Ryuk is off, so
    // nothing else would.
    const client = await getContainerRuntimeClient().catch(() => undefined);
    for (const id of containerIds) {
      await client?.container
        .getById(id)
        .remove({ force: true, v: true })
        .catch((err: { statusCode?: number }) => {
          if (err.statusCode !== 404) throw err;
        });
    }
    tmp?.remove();
    await docker?.stop();
  }, 120_000);

  describe(`${ENTRY_POINTS.serving.bundle} on a real ONNX model`, () => {
    let serving: StartedTestContainer;
    let base: string;

    beforeAll(async () => {
      if (!imageReady) return;
      const models = join(tmp!.path, 'models');
      writeFixture(models, 'classifier.onnx');
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      serving = await explained(
        'serving',
        started(
          imageContainer('serving')
            .withCommand([ENTRY_POINTS.serving.bundle])
            .withBindMounts([{ source: models, target: '/models', mode: 'ro' }])
            .withEnvironment({
              SISKIN_MODEL_URI: 'file:///models/classifier.onnx',
              SISKIN_MODEL_NAME: 'iris',
              SISKIN_HOST: '127.0.0.1',
              SISKIN_PORT: String(port),
            })
            .withWaitStrategy(httpOnHostNetwork('/v2/health/ready', port)),
        ),
      );
    }, 120_000);

    test('model metadata comes from the mounted ONNX graph', async () => {
      const res = await fetch(`${base}/v2/models/iris`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        name: 'iris',
        versions: ['unversioned'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
          { name: 'label', datatype: 'INT64', shape: [-1] },
        ],
        // Generated inputs with one row ran: nothing longer was needed.
        warmup: { source: 'generated', ok: true, dynamicSize: 1 },
      });
    });

    test('JSON inference answers with a label and a probability row per input row', async () => {
      const res = await fetch(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody() });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { id: string; model_name: string; outputs: { name: string; shape: number[]; data: number[] }[] };
      expect(body).toMatchObject({ id: 'tc-1', model_name: 'iris' });
      const probs = body.outputs.find((o) => o.name === 'probabilities')!;
      const label = body.outputs.find((o) => o.name === 'label')!;
      expect(probs.shape).toEqual([2, 3]);
      expect(label.shape).toEqual([2]);
      for (const [i, l] of label.data.entries()) {
        const row = probs.data.slice(i * 3, i * 3 + 3);
        expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        expect(l).toBe(row.indexOf(Math.max(...row)));
      }
    });

    test('a request naming an unknown input is a 400 that names it', async () => {
      const res = await fetch(`${base}/v2/models/iris/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: inferBody('inputz') });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: string }).error).toMatch(/unknown input "inputz"/);
    });

    test('/metrics counts the requests by status code', async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/siskin_requests_total\{route="\/v2\/models\/:name\/infer",code="200",model="iris",revision="unversioned"\} [1-9]/);
      expect(text).toMatch(/siskin_requests_total\{route="\/v2\/models\/:name\/infer",code="400",model="iris",revision="unversioned"\} [1-9]/);
    });

    test('it runs as the image\'s non-root user on a read-only root filesystem', async () => {
      await expectNonRootAndReadOnly(serving);
    });

    test('the image holds the bundles and the native addon for its own platform, no sources', async () => {
      // What /app holds, two levels down, and which onnxruntime binaries came along.
      const listing = await serving.exec([
        'node',
        '-e',
        `const fs = require('fs');
         const app = fs.readdirSync('/app', { recursive: true });
         const bin = 'node_modules/onnxruntime-node/bin';
         console.log(JSON.stringify({
           top: fs.readdirSync('/app').sort(),
           ts: app.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith('node_modules/')),
           platforms: fs.readdirSync('/app/' + bin, { recursive: true }).filter((f) => f.split('/').length === 3).sort(),
           arch: process.platform + '/' + process.arch,
         }));`,
      ]);
      expect(listing).toMatchObject({ exitCode: 0, stderr: '' });
      const seen = JSON.parse(listing.stdout) as { top: string[]; ts: string[]; platforms: string[]; arch: string };
      expect(seen.top).toEqual(['dist', 'node_modules']);
      expect(seen.ts).toEqual([]);
      expect(seen.platforms).toEqual([`napi-v6/${seen.arch}`]);
    });
  });

  describe(`${ENTRY_POINTS.operator.bundle} (the default command) against a local API server`, () => {
    const NS = 'default';
    let cluster: LocalCluster | undefined;
    let operator: StartedTestContainer;
    const admin = () => cluster!.kubeConfig();

    beforeAll(async () => {
      if (!imageReady) return;
      // kwok mode without nodes: the API server on loopback, which host networking reaches.
      cluster = await startCluster({ crdFiles: [CRD] });
      const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES });
      // The kubeconfig holds a token and stays 0600: owned by the image's user, who alone reads it.
      const client = await getContainerRuntimeClient();
      const [uid, gid = uid] = (await client.image.inspect(ImageName.fromString(IMAGE))).Config.User.split(':').map(Number);
      const kubeDir = join(tmp!.path, 'kube');
      mkdirSync(kubeDir);
      const kubeconfig = join(kubeDir, 'config');
      copyFileSync(saConfig, kubeconfig);
      chownSync(kubeconfig, uid!, gid!);
      const port = await freePort();
      operator = await explained(
        'operator',
        started(
          imageContainer('operator')
            .withBindMounts([{ source: kubeconfig, target: '/var/run/siskin/kubeconfig', mode: 'ro' }])
            .withEnvironment({
              KUBECONFIG: '/var/run/siskin/kubeconfig',
              SISKIN_DEFAULT_SERVING_IMAGE: IMAGE,
              SISKIN_LEADER_ELECTION_NAMESPACE: 'siskin-system',
              POD_NAME: 'siskin-operator-tc',
              SISKIN_HTTP_HOST: '127.0.0.1',
              SISKIN_HTTP_PORT: String(port),
            })
            .withWaitStrategy(httpOnHostNetwork('/readyz', port)),
        ),
      );
    }, 180_000);

    afterAll(async () => {
      await cluster?.stop();
    }, 120_000);

    test('a ModelDeployment becomes a Deployment of the serving image, and its status is written', async () => {
      const kc = admin();
      await createModelDeployment(kc.makeApiClient(CustomObjectsApi), NS, 'iris', {
        model: { uri: 'file:///models/iris-1.onnx', version: '1' },
        modelCard: { owner: 'team-ml', riskTier: 'low' },
        replicas: 1,
        // No node runs the pods, so there is no server to read a signature from.
        rollout: { steps: [{ setWeight: 50 }, { pause: {} }], schemaCheck: 'Off' },
      });
      const apps = kc.makeApiClient(AppsV1Api);
      const deployment = await explained(
        'operator',
        waitFor('the operator to create the Deployment', async () =>
          (await apps.listNamespacedDeployment({ namespace: NS, labelSelector: 'siskin.dev/model-deployment=iris' })).items[0],
        { timeoutMs: 60_000, intervalMs: 500 }),
      );
      expect(deployment.metadata?.ownerReferences).toEqual([expect.objectContaining({ kind: 'ModelDeployment', name: 'iris', controller: true })]);
      expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(IMAGE);
      const custom = kc.makeApiClient(CustomObjectsApi);
      const status = await explained(
        'operator',
        waitFor('the operator to write status', async () => {
          const md = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: NS, plural: PLURAL, name: 'iris' })) as {
            status?: ModelDeploymentStatus;
          };
          return md.status?.observedGeneration === 1 ? md.status : undefined;
        }, { timeoutMs: 60_000, intervalMs: 500 }),
      );
      expect(status.stable?.version).toBe('1');
    });

    test('the image\'s default command is the operator\'s bundle, which this container runs', async () => {
      const info = await inspect(operator);
      expect(info.Config.Entrypoint).toEqual(['node']);
      expect(info.Config.Cmd).toEqual([ENTRY_POINTS.operator.bundle]);
    });

    test('it holds the leader Lease in siskin-system', async () => {
      const lease = await admin().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' });
      // client-go's identity scheme: the pod name plus a random suffix.
      expect(lease.spec?.holderIdentity).toMatch(/^siskin-operator-tc_/);
    });

    test('it runs as the image\'s non-root user on a read-only root filesystem', async () => {
      await expectNonRootAndReadOnly(operator);
    });

    test('docker stop reaches node as PID 1: the operator exits 0 and hands the Lease back', async () => {
      const t0 = Date.now();
      await operator.stop({ timeout: 30_000, remove: false });
      // Well under the stop timeout: the process ended on SIGTERM, not on the SIGKILL after it.
      expect(Date.now() - t0).toBeLessThan(25_000);
      expect((await inspect(operator)).State.ExitCode).toBe(0);
      const lease = await admin().makeApiClient(CoordinationV1Api).readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' });
      expect(lease.spec?.holderIdentity ?? '').toBe('');
    }, 60_000);
  });
});
