// kubectl-siskin as a platform engineer installs it: `npm run build:plugin` makes the single
// executable, its Krew archive and manifest; the real Krew (built from the Go module proxy)
// installs them into a fresh KREW_ROOT; kubectl finds the plugin there and it talks to a real
// API server — with no Node anywhere on PATH and no node_modules beside it.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { findBinary, makeTempDir, runCli, startCluster, type CliResult, type LocalCluster } from '../../cluster/index.ts';
import { onPath } from '../../cluster/hostTools.ts';
import { FIXTURES } from '../../fixtures/onnxModels.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CRD = join(ROOT, CRD_FILE);
const DIST = join(ROOT, 'dist', 'plugin');
const MANIFEST = join(DIST, 'siskin.yaml');
const ARCHIVE = join(DIST, 'kubectl-siskin-linux-amd64.tar.gz');
const PLUGIN_VERSION = `v${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`;
/** System directories a user's PATH holds; those with a `node` in them are left out. */
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

const SIG = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }] };
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

/** What the operator writes mid-rollout: canary 2 at 25%, at its analysis step. */
const rollingStatus = (canaryWeight: number): ModelDeploymentStatus => ({
  observedGeneration: 1,
  phase: 'Progressing',
  stable: { name: '6f9c2b1d0a', version: '1', uri: 'file:///models/iris-1.onnx', signature: SIG },
  canary: { name: '7d1e4c2f3b', version: '2', uri: 'file:///models/iris-2.onnx', signature: SIG },
  canaryWeight,
  currentStepIndex: 1,
  stepStartedAt: minutesAgo(3),
  rolloutStartedAt: minutesAgo(5),
  conditions: [
    { type: 'Ready', status: 'False', reason: 'RolloutInProgress', message: 'a rollout is in progress', lastTransitionTime: minutesAgo(5), observedGeneration: 1 },
  ],
  replicas: 4,
  readyReplicas: 4,
  selector: 'siskin.dev/model-deployment=iris',
  history: [],
});

describe('kubectl siskin installed through Krew', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  let krewRoot: { path: string; remove: () => void };
  /** kubectl's directory, Krew's, KREW_ROOT/bin and the system directories without a node. */
  let userPath: string;

  /** Runs kubectl as the user: their PATH, their KREW_ROOT, the cluster's kubeconfig. */
  const kubectl = (args: string[], root = krewRoot.path): Promise<CliResult> => cluster.kubectl(args, { env: { PATH: userPath, KREW_ROOT: root } });
  const md = (namespace: string, name: string) => ({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name });

  beforeAll(async () => {
    // The plugin as a release makes it, from the sources in this checkout (about 15 s).
    const node = join(ROOT, 'node_modules', '.bin', 'node');
    const build = await runCli(node, [join(ROOT, 'scripts', 'build-plugin.ts')], { cwd: ROOT, timeoutMs: 300_000 });
    if (build.code !== 0) throw new Error(`npm run build:plugin failed (exit ${build.code}):\n${build.stdout}${build.stderr}`);

    const dirs = [dirname(findBinary('kubectl')), dirname(findBinary('kubectl-krew')), ...SYSTEM_DIRS.filter((d) => !onPath('node', { PATH: d }))];
    krewRoot = makeTempDir('krew-root');
    userPath = [...dirs, join(krewRoot.path, 'bin')].join(delimiter);
    // The point of the test: nothing on this PATH can run the plugin's JavaScript.
    const strayNode = onPath('node', { PATH: userPath });
    if (strayNode) throw new Error(`the test's PATH must hold no node, but ${strayNode} is on it`);

    cluster = await startCluster({ crdFiles: [CRD] });
    const kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'ml' } } });
    await createModelDeployment(custom, 'ml', 'iris', {
      model: { uri: 'file:///models/iris-2.onnx', version: '2' },
      modelCard: { owner: 'team-ml', riskTier: 'low' },
      replicas: 4,
      rollout: { steps: [{ setWeight: 25 }, { analysis: { durationSeconds: 300 } }, { setWeight: 50 }, { pause: {} }] },
    });
    await custom.patchNamespacedCustomObjectStatus({ ...md('ml', 'iris'), body: [{ op: 'add', path: '/status', value: rollingStatus(25) }] });
  }, 600_000);
  afterAll(async () => {
    await cluster?.stop();
    krewRoot?.remove();
  });

  test('kubectl krew install --manifest --archive installs the built archive into KREW_ROOT', async () => {
    const r = await kubectl(['krew', 'install', `--manifest=${MANIFEST}`, `--archive=${ARCHIVE}`]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('Installed plugin: siskin') });
    // Krew links KREW_ROOT/bin/kubectl-siskin to the executable it unpacked into its store.
    expect(readlinkSync(join(krewRoot.path, 'bin', 'kubectl-siskin'))).toBe(join(krewRoot.path, 'store', 'siskin', PLUGIN_VERSION, 'kubectl-siskin'));
    // Its receipt (what `krew list` and `krew upgrade` read; list itself wants the index git
    // clone, which this offline machine cannot make) records the manifest's version.
    const receipt = parse(readFileSync(join(krewRoot.path, 'receipts', 'siskin.yaml'), 'utf8')) as { metadata: { name: string }; spec: { version: string } };
    expect({ name: receipt.metadata.name, version: receipt.spec.version }).toEqual({ name: 'siskin', version: PLUGIN_VERSION });
  });

  test('kubectl plugin list finds kubectl-siskin in KREW_ROOT/bin', async () => {
    const r = await kubectl(['plugin', 'list']);
    expect(r.stdout).toContain(join(krewRoot.path, 'bin', 'kubectl-siskin'));
  });

  test('kubectl siskin status shows the object as the API server holds it, with no Node on PATH', async () => {
    const before = await kubectl(['siskin', 'status', 'iris', '-n', 'ml']);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^Name: +iris$/m);
    expect(before.stdout).toMatch(/^Namespace: +ml$/m);
    expect(before.stdout).toMatch(/^Phase: +Progressing$/m);
    expect(before.stdout).toMatch(/^Stable: +1 \(revision 6f9c2b1d0a\)$/m);
    expect(before.stdout).toMatch(/^Canary: +2 \(revision 7d1e4c2f3b\)$/m);
    expect(before.stdout).toMatch(/^Canary weight: +25%$/m);
    expect(before.stdout).toMatch(/^Step: +2\/4: analysis for 300s$/m);

    // Read live, not from anything the build baked in: a changed status shows at once.
    await custom.patchNamespacedCustomObjectStatus({ ...md('ml', 'iris'), body: [{ op: 'replace', path: '/status/canaryWeight', value: 50 }] });
    const after = await kubectl(['siskin', 'status', 'iris', '-n', 'ml', '-o', 'json']);
    expect(after.code).toBe(0);
    expect(JSON.parse(after.stdout)).toMatchObject({ phase: 'Progressing', canaryWeight: 50 });
  });

  test('kubectl siskin pause writes the annotation through the API server', async () => {
    const r = await kubectl(['siskin', 'pause', 'iris', '-n', 'ml']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('modeldeployment.siskin.dev/iris paused (siskin.dev/paused=true)\n');
    const got = (await custom.getNamespacedCustomObject(md('ml', 'iris'))) as { metadata: { annotations?: Record<string, string> } };
    expect(got.metadata.annotations?.['siskin.dev/paused']).toBe('true');
  });

  test('check and lint run inside the one executable: the ONNX reader, the schema gate and the schema bundled', async () => {
    // iris's stable signature has the output "label" only: the classifier adds "probabilities".
    const model = join(cluster.dir, 'classifier.onnx');
    writeFileSync(model, FIXTURES['classifier.onnx']());
    const strict = await kubectl(['siskin', 'check', '--model', model, 'md/iris', '-n', 'ml']);
    expect(strict.stderr).toBe('');
    expect(strict.code).toBe(3);
    expect(strict.stdout).toMatch(/^output +probabilities +- +FP32\[-1,3\] +added +BREAKING$/m);
    expect((await kubectl(['siskin', 'check', '--model', model, 'md/iris', '-n', 'ml', '--schema-check', 'AllowAdditive'])).code).toBe(0);
    expect((await kubectl(['siskin', 'check', '--model', model, '--against', model])).code).toBe(0);

    const examples = join(ROOT, 'examples');
    const lint = await kubectl(['siskin', 'lint', examples]);
    expect(lint.stderr).toBe('');
    expect(lint.code).toBe(0);
    expect(lint.stdout).toMatch(/^\d+ ModelDeployments linted, 0 invalid$/m);
    const broken = await cluster.kubectl(['siskin', 'lint', '-'], {
      env: { PATH: userPath, KREW_ROOT: krewRoot.path },
      input: readFileSync(join(examples, 'minimal.yaml'), 'utf8').replace(/sha256: \S+/, 'sha256: <64 hex>'),
    });
    expect(broken.code).toBe(3);
    expect(broken.stdout).toMatch(/^- ModelDeployment\/iris: spec\.model\.sha256: /m);
  });

  test("Krew refuses the archive when the manifest's sha256 is not the archive's", async () => {
    // The install above proves the generated sha256 right only because Krew checks it.
    const other = makeTempDir('krew-root-tampered');
    try {
      const manifest = join(other.path, 'siskin.yaml');
      writeFileSync(manifest, readFileSync(MANIFEST, 'utf8').replace(/sha256: "([0-9a-f]{64})"/, (_, sha: string) => `sha256: "${[...sha].reverse().join('')}"`));
      const r = await kubectl(['krew', 'install', `--manifest=${manifest}`, `--archive=${ARCHIVE}`], other.path);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/checksum does not match/);
    } finally {
      other.remove();
    }
  });
});
