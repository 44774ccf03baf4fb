// The serving environment across the process boundary: a Deployment rendered by the
// operator's real builder, its container env loaded by the serving runtime's real config
// loader. What the loader ends up with must be what the ModelDeployment asked for, and the
// runtime's defaults for everything it did not mention.
import { describe, expect, test } from '@jest/globals';
import type { V1Container, V1PodSpec } from '@kubernetes/client-node';
import { modelDeploymentSpec } from '../../operator/api/schema.ts';
import { peerKeySecret, routingConfigMapName, servingDeployment, type Owner } from '../../operator/resources/deployment.ts';
import { ROUTING_FILE_KEY } from '../../contract/routing.ts';
import { parseConfig, type ServingConfig } from '../../serving/config.ts';

const owner: Owner = { name: 'iris', namespace: 'ml', uid: '1234-uid' };
const sha = 'ab'.repeat(32);
const POD_IP = '198.51.100.23';

/** Renders the pod and loads its env as the serving runtime does at startup. */
function render(input: unknown, revision = 'r7'): { pod: V1PodSpec; container: V1Container; config: ServingConfig } {
  const spec = modelDeploymentSpec.parse(input);
  const pod = servingDeployment(owner, spec, revision, 1, { defaultImage: 'siskin.local/siskin:dev' }).spec!.template.spec!;
  const container = pod.containers[0]!;
  // What the kubelet resolves: the one field the builder takes from the downward API.
  const env = Object.fromEntries(
    (container.env ?? []).map((e) => {
      if (e.valueFrom === undefined) return [e.name, e.value];
      if (e.valueFrom.fieldRef?.fieldPath !== 'status.podIP') throw new Error(`env ${e.name}: only status.podIP is resolved here`);
      return [e.name, POD_IP];
    }),
  );
  const r = parseConfig(env);
  if (!r.ok) throw new Error(`the serving runtime refuses the operator's env: ${r.problems.join('; ')}`);
  return { pod, container, config: r.config };
}

/** The runtime's own defaults: what a model URI and name alone load as. */
function runtimeDefaults(): ServingConfig {
  const r = parseConfig({ SISKIN_MODEL_NAME: 'x', SISKIN_MODEL_URI: 'file:///x' });
  if (!r.ok) throw new Error(r.problems.join('; '));
  return r.config;
}

/** The file a volume of the pod provides at `path`: mounted volume name and the file inside it. */
function mountedFile(pod: V1PodSpec, container: V1Container, path: string): { volume: NonNullable<V1PodSpec['volumes']>[number]; file: string } {
  const mount = container.volumeMounts!.find((m) => path.startsWith(`${m.mountPath}/`));
  if (mount === undefined) throw new Error(`${path} is not under any mount of the container`);
  return { volume: pod.volumes!.find((v) => v.name === mount.name)!, file: path.slice(mount.mountPath.length + 1) };
}

describe('serving environment: operator builder → serving config loader', () => {
  test('a spec with defaults loads the model, its revision, no batching and the usual warm-up', () => {
    const { config } = render({ model: { uri: 'https://m.example/iris/1.onnx', sha256: sha, version: '1' } }, 'c0ffee');
    expect(config).toEqual({
      ...runtimeDefaults(),
      modelName: 'iris',
      modelUri: 'https://m.example/iris/1.onnx',
      modelSha256: sha,
      revision: 'c0ffee',
      host: '0.0.0.0',
      port: 8080,
      // Batching off means a batch of one, not the runtime's default of 32.
      batchMaxSize: 1,
      warmup: 5,
      routingFile: config.routingFile,
      podIp: POD_IP,
      peerKeyFile: config.peerKeyFile,
    });
  });

  test('every serving option set reaches the runtime as asked', () => {
    const { config } = render({
      model: { name: 'Iris.v2', uri: 'pvc://models/iris/2/model.onnx', version: '2', referenceProfile: { uri: 'pvc://models/iris/2/profile.json' } },
      serving: {
        workers: 4,
        intraOpThreads: 3,
        batching: { enabled: true, maxBatchSize: 64, maxDelayMs: 7 },
        warmup: { requests: 0, inputs: [{ name: 'input', shape: [2, 4], fill: 0.5 }] },
        payloadLogSampleRate: 0.25,
      },
    });
    expect(config).toEqual({
      ...runtimeDefaults(),
      modelName: 'Iris.v2',
      modelUri: 'file:///models/model/models/iris/2/model.onnx',
      revision: 'r7',
      host: '0.0.0.0',
      port: 8080,
      workers: 4,
      intraOpThreads: 3,
      batchMaxSize: 64,
      batchMaxDelayMs: 7,
      warmup: 0,
      warmupInputs: [{ name: 'input', shape: [2, 4], fill: 0.5 }],
      payloadLogSampleRate: 0.25,
      routingFile: config.routingFile,
      referenceProfile: '/models/profile/models/iris/2/profile.json',
      podIp: POD_IP,
      peerKeyFile: config.peerKeyFile,
    });
  });

  test('the files the runtime is pointed at are the ones the pod mounts', () => {
    const { pod, container, config } = render({
      model: { uri: 'pvc://models/iris/2/model.onnx', version: '2', referenceProfile: { uri: 'pvc://profiles/iris.json' } },
      serving: { auth: { secretName: 'iris-tokens' } },
    });
    const routing = mountedFile(pod, container, config.routingFile!);
    expect(routing.volume.configMap?.name).toBe(routingConfigMapName('iris'));
    expect(routing.file).toBe(ROUTING_FILE_KEY);
    const tokens = mountedFile(pod, container, config.authTokenFile!);
    expect(tokens.volume.secret).toEqual({ secretName: 'iris-tokens', items: [{ key: tokens.file, path: tokens.file }] });
    // The peer key: the Secret the operator creates, optional so a pod never waits for it.
    const peerKey = mountedFile(pod, container, config.peerKeyFile!);
    const secret = peerKeySecret(owner, Buffer.alloc(32));
    expect(peerKey.volume.secret).toEqual({ secretName: secret.metadata!.name, optional: true, items: [{ key: peerKey.file, path: peerKey.file }] });
    expect(Object.keys(secret.data!)).toEqual([peerKey.file]);
    expect(mountedFile(pod, container, new URL(config.modelUri).pathname).volume.persistentVolumeClaim?.claimName).toBe('models');
    expect(mountedFile(pod, container, config.referenceProfile!).volume.persistentVolumeClaim?.claimName).toBe('profiles');
  });

  test('auth, monitoring and a shadow-capable rollout on still load, with auth pointing at the token file', () => {
    const { config } = render({
      model: { uri: 'file:///models/iris.onnx', version: '3', referenceProfile: { uri: 'https://p.example/iris.json', sha256: sha } },
      serving: { auth: { secretName: 'iris-tokens' } },
      monitoring: { drift: { threshold: 0.3 } },
      rollout: {
        steps: [{ setWeight: 10 }],
        analysis: { shadowSampleRate: 0.5, metrics: [{ name: 'agreement', kind: 'PredictionAgreement', min: 0.9 }] },
      },
    });
    expect(config.authTokenFile).toMatch(/\/tokens$/);
    // A profile fetched over http(s) is the operator's to fetch; the runtime gets no path to it.
    expect(config.referenceProfile).toBeUndefined();
    expect(config.modelUri).toBe('file:///models/iris.onnx');
  });

  test('the serving port is the one the container exposes, probes and is scraped on', () => {
    const spec = modelDeploymentSpec.parse({ model: { uri: 'file:///models/iris.onnx', version: '1' } });
    const template = servingDeployment(owner, spec, 'r1', 1, { defaultImage: 'siskin.local/siskin:dev' }).spec!.template;
    const { container, config } = render({ model: { uri: 'file:///models/iris.onnx', version: '1' } });
    expect(container.ports).toEqual([{ name: 'http', containerPort: config.port, protocol: 'TCP' }]);
    expect(container.readinessProbe?.httpGet?.port).toBe('http');
    expect(template.metadata?.annotations?.['prometheus.io/port']).toBe(String(config.port));
  });
});
