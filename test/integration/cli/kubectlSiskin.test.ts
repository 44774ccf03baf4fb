// kubectl-siskin as a user runs it: the real kubectl finds the plugin on PATH and execs it
// against a real API server. Status views read what the operator writes to the status
// subresource; every control command's annotation is read back through the API; namespace,
// context and error handling behave like kubectl's.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, PLURAL, VERSION, type ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import onnxProto from 'onnx-proto';
import type { onnx as O } from 'onnx-proto';
import { freePort, startCluster, type CliResult, type LocalCluster } from '../../cluster/index.ts';
import { runCli } from '../../cluster/tools.ts';
import { FIXTURES } from '../../fixtures/onnxModels.ts';
import { createModelDeployment } from '../../fixtures/modelDeployments.ts';

const { onnx } = onnxProto;

const BIN_DIR = fileURLToPath(new URL('../../../bin', import.meta.url));
const CRD = fileURLToPath(new URL(`../../../${CRD_FILE}`, import.meta.url));
const SIG = { inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }] };
const minutesAgo = (m: number): string => new Date(Date.now() - m * 60_000).toISOString().replace(/\.\d+Z$/, 'Z');

/** What the operator writes mid-rollout: a canary at 25% under analysis, one metric failing. */
const rollingStatus = (): ModelDeploymentStatus => ({
  observedGeneration: 1,
  phase: 'Progressing',
  stable: { name: '6f9c2b1d0a', version: '1', uri: 'file:///models/iris-1.onnx', signature: SIG },
  canary: { name: '7d1e4c2f3b', version: '2', uri: 'file:///models/iris-2.onnx', signature: SIG },
  canaryWeight: 25,
  currentStepIndex: 1,
  stepStartedAt: minutesAgo(3),
  rolloutStartedAt: minutesAgo(5),
  analysis: {
    failures: 1,
    inconclusive: 0,
    consecutiveInconclusive: 0,
    lastRoundAt: minutesAgo(0),
    lastVerdict: 'Fail',
    measurements: [
      { metric: 'p99-latency', value: 0.412, stableValue: 0.2, bound: '<= 0.25', verdict: 'Fail', reason: 'above the bound', time: minutesAgo(0) },
      { metric: 'error-rate', value: 0, stableValue: 0.001, bound: '<= 1.2 x stable', verdict: 'Pass', time: minutesAgo(0) },
    ],
  },
  conditions: [
    { type: 'Degraded', status: 'False', reason: 'StableAvailable', message: 'the stable revision is available', lastTransitionTime: minutesAgo(60), observedGeneration: 1 },
    { type: 'Progressing', status: 'True', reason: 'RolloutInProgress', message: 'canary 2 at weight 25, step 2 of 4', lastTransitionTime: minutesAgo(5), observedGeneration: 1 },
    { type: 'Ready', status: 'False', reason: 'RolloutInProgress', message: 'a rollout is in progress', lastTransitionTime: minutesAgo(5), observedGeneration: 1 },
    { type: 'Reconciling', status: 'True', reason: 'RolloutInProgress', message: 'a rollout is in progress', lastTransitionTime: minutesAgo(5), observedGeneration: 1 },
    { type: 'Stalled', status: 'False', reason: 'NoRollout', message: 'nothing is stuck', lastTransitionTime: minutesAgo(60), observedGeneration: 1 },
  ],
  replicas: 4,
  readyReplicas: 4,
  selector: 'siskin.dev/model-deployment=iris',
  history: [
    {
      revision: '6f9c2b1d0a',
      version: '1',
      outcome: 'Promoted',
      reason: 'all steps completed',
      startedAt: minutesAgo(120),
      finishedAt: minutesAgo(110),
      modelCard: { owner: 'team-ml', riskTier: 'low' },
    },
  ],
});

describe('kubectl siskin', () => {
  let cluster: LocalCluster;
  let custom: CustomObjectsApi;
  /** Runs `kubectl siskin …` through the real kubectl with the plugin's directory on PATH. */
  const siskin = (args: string[], opts: { kubeconfig?: string } = {}): Promise<CliResult> =>
    cluster.kubectl(['siskin', ...args], { ...opts, env: { PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}` } });
  const get = async (name: string, namespace = 'default'): Promise<{ metadata: { generation: number; annotations?: Record<string, string>; managedFields?: { manager: string }[] }; status?: ModelDeploymentStatus }> =>
    (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name })) as never;
  const create = (name: string, namespace: string, annotations: Record<string, string> = {}): Promise<unknown> =>
    createModelDeployment(
      custom,
      namespace,
      name,
      {
        model: { uri: 'file:///models/iris-2.onnx', version: '2' },
        modelCard: { owner: 'team-ml', riskTier: 'low' },
        replicas: 4,
        rollout: { steps: [{ setWeight: 25 }, { analysis: { durationSeconds: 300 } }, { setWeight: 50 }, { pause: {} }] },
      },
      annotations,
    );
  const writeStatus = (name: string, namespace: string, status: ModelDeploymentStatus): Promise<unknown> =>
    custom.patchNamespacedCustomObjectStatus({ group: GROUP, version: VERSION, plural: PLURAL, namespace, name, body: [{ op: 'add', path: '/status', value: status }] });

  beforeAll(async () => {
    cluster = await startCluster({ crdFiles: [CRD] });
    const kc = cluster.kubeConfig();
    custom = kc.makeApiClient(CustomObjectsApi);
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'ml' } } });
    await create('iris', 'default', { 'team.example/owner': 'ml-platform' });
    await writeStatus('iris', 'default', rollingStatus());
    await create('mnist', 'ml');
    await writeStatus('mnist', 'ml', { ...rollingStatus(), canaryWeight: 50, currentStepIndex: 2 });
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  test('kubectl discovers the plugin on PATH', async () => {
    const r = await cluster.kubectl(['plugin', 'list'], { env: { PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}` } });
    expect(r.stdout).toContain(join(BIN_DIR, 'kubectl-siskin'));
  });

  test('--help prints the usage and exits 0', async () => {
    const r = await siskin(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage:\n {2}kubectl siskin COMMAND NAME \[flags\]$/m);
    for (const command of ['status', 'promote', 'abort', 'retry', 'pause', 'resume', 'history']) expect(r.stdout).toMatch(new RegExp(`^ {2}${command} NAME`, 'm'));
  });

  test('status shows versions, weight, step, phase, the analysis table, conditions and history', async () => {
    const r = await siskin(['status', 'iris']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/^Name: +iris$/m);
    expect(out).toMatch(/^Namespace: +default$/m);
    expect(out).toMatch(/^Phase: +Progressing$/m);
    expect(out).toMatch(/^Stable: +1 \(revision 6f9c2b1d0a\)$/m);
    expect(out).toMatch(/^Canary: +2 \(revision 7d1e4c2f3b\)$/m);
    expect(out).toMatch(/^ {2}Signature: +input FP32\[-1,4\] -> label INT64\[-1\]$/m);
    expect(out).toMatch(/^Canary weight: +25%$/m);
    expect(out).toMatch(/^Step: +2\/4: analysis for 300s$/m);
    expect(out).toMatch(/^Analysis: last verdict Fail at .*; failures 1, inconclusive 0$/m);
    expect(out).toMatch(/^ {2}METRIC +VALUE +STABLE +BOUND +VERDICT +REASON$/m);
    expect(out).toMatch(/^ {2}p99-latency +0\.412 +0\.2 +<= 0\.25 +Fail +above the bound$/m);
    expect(out).toMatch(/^ {2}error-rate +0 +0\.001 +<= 1\.2 x stable +Pass$/m);
    expect(out).toMatch(/^ {2}Ready +False +RolloutInProgress +5m +a rollout is in progress$/m);
    expect(out).toMatch(/^ {2}Stalled +False +NoRollout +60m +nothing is stuck$/m);
    expect(out).toMatch(/^ {2}110m ago +1 +6f9c2b1d0a +Promoted +10m +team-ml +all steps completed$/m);
  });

  test('status -o json prints the status object as the API server holds it', async () => {
    const r = await siskin(['status', 'iris', '-o', 'json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual((await get('iris')).status);
    expect(JSON.parse(r.stdout)).toMatchObject({ phase: 'Progressing', canaryWeight: 25 });
  });

  test('history lists past rollouts, as a table or JSON', async () => {
    const table = await siskin(['history', 'iris']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^FINISHED +VERSION +REVISION +OUTCOME +DURATION +OWNER +REASON\n110m ago +1 +6f9c2b1d0a +Promoted +10m +team-ml +all steps completed\n$/);
    const json = await siskin(['history', 'iris', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ version: '1', outcome: 'Promoted' })]);
  });

  describe('control commands write annotations the operator acts on', () => {
    const annotations = async (): Promise<Record<string, string>> => (await get('iris')).metadata.annotations ?? {};

    test.each<[string, string[], RegExp, string]>([
      ['promote', ['promote', 'iris'], /^promote:\d{13}$/, 'promotion requested'],
      ['promote --full', ['promote', 'iris', '--full'], /^promote-full:\d{13}$/, 'full promotion requested'],
      ['abort', ['abort', 'iris'], /^abort:\d{13}$/, 'abort requested'],
      ['retry', ['retry', 'iris'], /^retry:\d{13}$/, 'retry requested'],
    ])('%s sets siskin.dev/command with a fresh nonce', async (_, args, want, done) => {
      const before = await annotations();
      const r = await siskin(args);
      expect(r.code).toBe(0);
      const after = await annotations();
      expect(after['siskin.dev/command']).toMatch(want);
      // A new value every time: the operator runs a command once per distinct value.
      expect(after['siskin.dev/command']).not.toBe(before['siskin.dev/command']);
      expect(r.stdout).toBe(`modeldeployment.siskin.dev/iris ${done} (siskin.dev/command=${after['siskin.dev/command']})\n`);
      // Annotations only: other annotations stay, the spec generation does not move.
      expect(after['team.example/owner']).toBe('ml-platform');
      expect((await get('iris')).metadata.generation).toBe(1);
    });

    test('the same command twice writes two distinct values', async () => {
      await siskin(['promote', 'iris']);
      const first = (await annotations())['siskin.dev/command'];
      await siskin(['promote', 'iris']);
      expect((await annotations())['siskin.dev/command']).not.toBe(first);
    });

    test('retry warns when the rollout was not rolled back (the command is still written)', async () => {
      const r = await siskin(['retry', 'iris']);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('warning: iris is Progressing, not RolledBack: retry acts only on a rolled-back rollout\n');
    });

    test('pause sets siskin.dev/paused, and status shows it', async () => {
      const r = await siskin(['pause', 'iris']);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe('modeldeployment.siskin.dev/iris paused (siskin.dev/paused=true)\n');
      expect((await annotations())['siskin.dev/paused']).toBe('true');
      expect((await siskin(['status', 'iris'])).stdout).toMatch(/^Paused: +yes, by annotation siskin\.dev\/paused=true/m);
    });

    test('resume removes the pause and sends the resume command (clears an analysis pause too)', async () => {
      const r = await siskin(['resume', 'iris']);
      expect(r.code).toBe(0);
      const after = await annotations();
      expect(after).not.toHaveProperty(['siskin.dev/paused']);
      expect(after['siskin.dev/command']).toMatch(/^resume:\d{13}$/);
      expect(r.stdout).toBe(`modeldeployment.siskin.dev/iris resumed (siskin.dev/paused-, siskin.dev/command=${after['siskin.dev/command']})\n`);
      expect(after['team.example/owner']).toBe('ml-platform');
    });

    test('the patches are recorded under the kubectl-siskin field manager', async () => {
      expect((await get('iris')).metadata.managedFields?.map((f) => f.manager)).toContain('kubectl-siskin');
    });
  });

  describe('namespaces and contexts', () => {
    let kubeconfig: string;
    beforeAll(() => {
      // A kubeconfig with a second context whose default namespace is "ml".
      const kc = cluster.kubeConfig();
      const current = kc.getContextObject(kc.getCurrentContext())!;
      kc.addContext({ name: 'ml-context', cluster: current.cluster, user: current.user, namespace: 'ml' });
      kubeconfig = join(cluster.dir, 'two-contexts.kubeconfig');
      writeFileSync(kubeconfig, kc.exportConfig());
    });

    test('-n and --namespace select the namespace', async () => {
      for (const flags of [['-n', 'ml'], ['--namespace=ml'], ['-nml']]) {
        const r = await siskin(['status', 'mnist', ...flags]);
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^Namespace: +ml$/m);
        expect(r.stdout).toMatch(/^Canary weight: +50%$/m);
      }
      const r = await siskin(['pause', 'mnist', '-n', 'ml']);
      expect(r.code).toBe(0);
      expect((await get('mnist', 'ml')).metadata.annotations?.['siskin.dev/paused']).toBe('true');
    });

    test('without -n, the namespace is the context\'s, else "default"', async () => {
      expect((await siskin(['status', 'mnist', '--context', 'ml-context'], { kubeconfig })).stdout).toMatch(/^Namespace: +ml$/m);
      const inDefault = await siskin(['status', 'mnist'], { kubeconfig });
      expect(inDefault.code).toBe(1);
      expect(inDefault.stderr).toBe('error: modeldeployment "mnist" not found in namespace "default"\n');
    });

    test('--kubeconfig overrides KUBECONFIG', async () => {
      const r = await cluster.kubectl(['siskin', 'status', 'mnist', '--kubeconfig', kubeconfig, '--context=ml-context'], {
        env: { PATH: `${BIN_DIR}${delimiter}${process.env.PATH ?? ''}`, KUBECONFIG: join(cluster.dir, 'does-not-exist') },
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Name: +mnist$/m);
    });
  });

  describe('check and lint: the schema gate and the API server\'s validation before a pull request merges', () => {
    /** The signature the operator recorded for the stable classifier (status.stable.signature). */
    const CLASSIFIER = {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
        { name: 'label', datatype: 'INT64', shape: [-1] },
      ],
    };
    let models: string;
    const file = (name: string): string => join(models, name);
    /** Runs the plugin as a CI job does: no kubectl, no kubeconfig, no cluster. */
    const offline = (args: string[], input?: string): Promise<CliResult> =>
      runCli(join(BIN_DIR, 'kubectl-siskin'), args, { env: { KUBECONFIG: join(models, 'no-such-kubeconfig') }, ...(input === undefined ? {} : { input }) });
    const gate = (name: string, schemaCheck: string | undefined, status: ModelDeploymentStatus | undefined): Promise<unknown> =>
      createModelDeployment(custom, 'ml', name, { model: { uri: 'file:///models/iris-2.onnx', version: '2' }, ...(schemaCheck ? { rollout: { schemaCheck } } : {}) }).then(() => (status ? writeStatus(name, 'ml', status) : undefined));

    beforeAll(async () => {
      models = join(cluster.dir, 'models');
      mkdirSync(models);
      const classifier = FIXTURES['classifier.onnx']();
      writeFileSync(file('stable.onnx'), classifier);
      writeFileSync(file('same.onnx'), FIXTURES['classifier-other.onnx']());
      writeFileSync(file('fixed-batch.onnx'), FIXTURES['classifier-fixed-batch.onnx']());
      writeFileSync(file('renamed.onnx'), FIXTURES['classifier-renamed.onnx']());
      // The classifier with its logits as a third output (additive), and with FP64 input (breaking).
      const graph = (change: (m: O.ModelProto) => void): Uint8Array => {
        const m = onnx.ModelProto.decode(classifier);
        change(m);
        return onnx.ModelProto.encode(m).finish();
      };
      const logits = onnx.ValueInfoProto.create({ name: 'logits', type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: 3 }] } } } });
      writeFileSync(
        file('with-logits.onnx'),
        graph((m) => void m.graph?.output?.push(logits)),
      );
      writeFileSync(
        file('fp64.onnx'),
        graph((m) => {
          const tensorType = m.graph?.input?.[0]?.type?.tensorType;
          if (tensorType) tensorType.elemType = onnx.TensorProto.DataType.DOUBLE;
        }),
      );
      writeFileSync(file('notes.onnx'), 'release notes, not a model\n');
      const stable = { ...rollingStatus(), canary: undefined, phase: 'Healthy', stable: { name: '6f9c2b1d0a', version: '1', uri: 'file:///models/iris-1.onnx', signature: CLASSIFIER } } as ModelDeploymentStatus;
      await gate('strict', undefined, stable);
      await gate('additive', 'AllowAdditive', stable);
      await gate('fresh', undefined, undefined);
    });

    test('a model with the same signature passes (exit 0), its tensors listed', async () => {
      const r = await siskin(['check', '--model', file('same.onnx'), 'md/strict', '-n', 'ml']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Schema check \(Strict\): \S+same\.onnx against md\/strict in namespace ml: stable version 1 \(revision 6f9c2b1d0a\)$/m);
      expect(r.stdout).toMatch(/^input +input +FP32\[-1,4\] +FP32\[-1,4\] +unchanged +ok$/m);
      expect(r.stdout).toMatch(/^Compatible: the schema gate \(Strict\) admits /m);
    });

    test('an added output passes AllowAdditive (the spec\'s mode) and fails Strict (exit 3)', async () => {
      const additive = await siskin(['check', '--model', file('with-logits.onnx'), 'md/additive', '-n', 'ml']);
      expect(additive.code).toBe(0);
      expect(additive.stdout).toMatch(/^output +logits +- +FP32\[-1,3\] +added +allowed \(AllowAdditive\)$/m);
      const strict = await siskin(['check', '--model', file('with-logits.onnx'), 'md/strict', '-n', 'ml']);
      expect(strict.code).toBe(3);
      expect(strict.stdout).toMatch(/^output +logits +- +FP32\[-1,3\] +added +BREAKING$/m);
      expect(strict.stdout).toContain('output "logits": added (the stable model has no such output)');
      // --schema-check overrides the spec's mode.
      expect((await siskin(['check', '--model', file('with-logits.onnx'), 'md/additive', '-n', 'ml', '--schema-check', 'Strict'])).code).toBe(3);
      expect((await siskin(['check', '--model', file('with-logits.onnx'), 'md/strict', '-n', 'ml', '--schema-check=Off'])).code).toBe(0);
    });

    test.each<[string, string, string]>([
      ['a changed dtype', 'fp64.onnx', 'input "input": datatype FP32 -> FP64'],
      ['a fixed batch where stable had a dynamic one', 'fixed-batch.onnx', 'output "probabilities": shape [-1,3] -> [1,3]'],
      ['a removed (renamed) input', 'renamed.onnx', 'input "input": removed'],
    ])('%s is breaking: exit 3, the input or output named', async (_what, model, difference) => {
      const r = await siskin(['check', '--model', file(model), 'md/additive', '-n', 'ml']);
      expect(r.code).toBe(3);
      expect(r.stdout).toMatch(/^Breaking: the schema gate \(AllowAdditive\) would roll \S+ back \(SchemaIncompatible\): /m);
      expect(r.stdout).toContain(difference);
    });

    test('-o json: the verdict, the operator\'s differences and both signatures', async () => {
      const r = await siskin(['check', '--model', file('fp64.onnx'), 'md/strict', '-n', 'ml', '-o', 'json']);
      expect(r.code).toBe(3);
      const out = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(out).toMatchObject({
        mode: 'Strict',
        compatible: false,
        differences: ['input "input": datatype FP32 -> FP64'],
        stable: { modelDeployment: 'strict', namespace: 'ml', revision: '6f9c2b1d0a', signature: CLASSIFIER },
        candidate: { file: file('fp64.onnx') },
      });
      expect(out.tensors).toContainEqual({ kind: 'input', name: 'input', stable: CLASSIFIER.inputs[0], candidate: { ...CLASSIFIER.inputs[0], datatype: 'FP64' }, changes: ['datatype FP32 -> FP64'], breaking: true });
    });

    test('--against compares two files with no cluster at all', async () => {
      const same = await offline(['check', '--model', file('same.onnx'), '--against', file('stable.onnx')]);
      expect(same.stderr).toBe('');
      expect(same.code).toBe(0);
      const renamed = await offline(['check', '--model', file('renamed.onnx'), '--against', file('stable.onnx')]);
      expect(renamed.code).toBe(3);
      expect(renamed.stdout).toContain('input "input": removed; input "features": added (the stable model has no such input)');
      const additive = await offline(['check', '--model', file('with-logits.onnx'), '--against', file('stable.onnx'), '--schema-check', 'AllowAdditive']);
      expect(additive.code).toBe(0);
    });

    test.each<[string, number, string[], RegExp]>([
      ['a ModelDeployment with no stable signature yet', 1, ['check', '--model', 'same.onnx', 'md/fresh', '-n', 'ml'], /^error: modeldeployment "fresh" in namespace "ml" has no stable revision with a recorded signature \(status\.stable\.signature\) yet/],
      ['a ModelDeployment that does not exist', 1, ['check', '--model', 'same.onnx', 'md/nope', '-n', 'ml'], /^error: modeldeployment "nope" not found in namespace "ml"\n$/],
      ['a model file that is not ONNX', 1, ['check', '--model', 'notes.onnx', 'md/strict', '-n', 'ml'], /^error: model \S+notes\.onnx: not an ONNX model: /],
      ['a model file that is missing', 1, ['check', '--model', 'missing.onnx', 'md/strict', '-n', 'ml'], /^error: cannot read model \S+missing\.onnx: no such file\n$/],
      ['no --model', 2, ['check', 'md/strict'], /^error: check needs the new model/],
    ])('%s: exit %d', async (_what, code, args, stderr) => {
      const r = await siskin(args.map((a) => (a.endsWith('.onnx') ? file(a) : a)));
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(stderr);
    });

    test('lint passes every example in examples/, skipping the other kinds in them', async () => {
      const examples = fileURLToPath(new URL('../../../examples', import.meta.url));
      const files = readdirSync(examples).filter((f) => f.endsWith('.yaml')).map((f) => join(examples, f));
      // A directory, as kubectl -f takes one: its manifests, each file's documents.
      const r = await offline(['lint', examples]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^\S+auth\.yaml:doc 1: skipped: not a ModelDeployment \(v1, Secret\)$/m);
      expect(r.stdout).toMatch(new RegExp(`^${files.length} ModelDeployments linted, 0 invalid$`, 'm'));
    });

    test('lint refuses a broken document (exit 3), one line per problem, from a file or stdin', async () => {
      const manifest = [
        'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: settings }\n',
        'apiVersion: siskin.dev/v1alpha1\nkind: ModelDeployment\nmetadata: { name: iris }\nspec:\n  model: { uri: https://models.example/iris.onnx, version: "2" }\n  replicas: two\n',
      ].join('---\n');
      const path = join(models, 'release.yaml');
      writeFileSync(path, manifest);
      for (const [args, input, where] of [[['lint', path], undefined, path], [['lint', '-'], manifest, '-']] as const) {
        const r = await offline([...args], input);
        expect(r.code).toBe(3);
        expect(r.stdout).toBe(
          [
            `${where}:doc 1: skipped: not a ModelDeployment (v1, ConfigMap)`,
            `${where}:doc 2 ModelDeployment/iris: spec.replicas: Invalid input: expected number, received string`,
            '1 ModelDeployment linted, 1 invalid',
            '',
          ].join('\n'),
        );
      }
      // The same document with the type fixed: the CEL rule's twin names the missing digest.
      writeFileSync(path, manifest.replace('replicas: two', 'replicas: 2'));
      const r = await offline(['lint', path]);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain(`${path}:doc 2 ModelDeployment/iris: spec.model.sha256: sha256 is required when the model is fetched over http(s)`);
    });
  });

  describe('errors exit non-zero with a message that says what is wrong', () => {
    test.each<[string, string[], number, string]>([
      ['an unknown model', ['status', 'nope'], 1, 'error: modeldeployment "nope" not found in namespace "default"\n'],
      ['an unknown model, for a command', ['promote', 'nope', '-n', 'ml'], 1, 'error: modeldeployment "nope" not found in namespace "ml"\n'],
      ['a missing namespace', ['status', 'iris', '-n', 'nowhere'], 1, 'error: modeldeployment "iris" not found in namespace "nowhere"\n'],
      ['no name', ['status'], 2, "error: status needs the name of a ModelDeployment: kubectl siskin status NAME\nSee 'kubectl siskin --help' for usage.\n"],
      ['an unknown flag', ['status', 'iris', '--watch'], 2, "error: unknown flag: --watch\nSee 'kubectl siskin --help' for usage.\n"],
      ['an unknown command', ['rollback', 'iris'], 2, "error: unknown command \"rollback\"\nSee 'kubectl siskin --help' for usage.\n"],
      ['an unknown context', ['status', 'iris', '--context', 'prod'], 1, 'error: context "prod" not found in the kubeconfig\n'],
    ])('%s', async (_, args, code, stderr) => {
      const r = await siskin(args);
      expect({ code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ code, stderr, stdout: '' });
    });

    test('an unreachable API server', async () => {
      const kc = cluster.kubeConfig();
      const port = await freePort();
      const server = `https://127.0.0.1:${port}`;
      const config = kc.exportConfig().replace(cluster.server, server);
      const path = join(cluster.dir, 'unreachable.kubeconfig');
      writeFileSync(path, config);
      const r = await siskin(['status', 'iris'], { kubeconfig: path });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^error: cannot reach the Kubernetes API server at ${server.replace(/\./g, '\\.')}: .*ECONNREFUSED.*\\n$`));
    });

    test('credentials without rights: the API server\'s reason is shown', async () => {
      const path = await cluster.serviceAccountKubeconfig('default', 'no-rights');
      const r = await siskin(['abort', 'iris'], { kubeconfig: path });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: patching modeldeployment "iris" in namespace "default" failed: .*"system:serviceaccount:default:no-rights" cannot patch resource "modeldeployments"/);
    });

    test('a cluster without the CRD', async () => {
      await cluster.kubectlOk(['delete', 'crd', `${PLURAL}.${GROUP}`, '--wait=true', '--timeout=60s']);
      const r = await siskin(['status', 'iris']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: the API server at https:\/\/\S+ does not serve modeldeployments\.siskin\.dev\/v1alpha1: is Siskin's CRD installed\?/);
    });
  });
});
