// The demo's command line (scripts/demo/options.ts): the local cluster by default, an existing
// one when a kubeconfig or context is named, and clear errors for what that mode needs.
import { describe, expect, test } from '@jest/globals';
import { parseDemoArgs, parseImage, USAGE, UsageError } from './options.ts';

const SHA = 'a'.repeat(64);
const EXISTING = ['--image', 'registry.example/siskin:0.1.0', '--prometheus-url', 'http://prometheus.monitoring.svc:9090', '--model-url', 'https://models.example/iris.onnx', '--model-sha256', SHA];

describe('parseDemoArgs', () => {
  test('no flags: the local cluster, namespace siskin-demo, torn down at the end', () => {
    expect(parseDemoArgs([])).toEqual({ kind: 'run', target: { kind: 'local' }, namespace: 'siskin-demo', keep: false, fast: false });
  });

  test('--keep, --fast and --namespace', () => {
    expect(parseDemoArgs(['--keep', '--fast', '--namespace', 'ml'])).toMatchObject({ kind: 'run', target: { kind: 'local' }, namespace: 'ml', keep: true, fast: true });
  });

  test.each([[['--help']], [['-h']], [['--keep', '--help']]])('%j prints the usage', (argv) => {
    expect(parseDemoArgs(argv)).toEqual({ kind: 'help' });
  });

  test('--export-models DIR', () => {
    expect(parseDemoArgs(['--export-models', '/tmp/m'])).toEqual({ kind: 'export-models', dir: '/tmp/m' });
  });

  test('--kubeconfig with everything an existing cluster needs', () => {
    expect(parseDemoArgs(['--kubeconfig', '/home/me/.kube/kind', ...EXISTING, '--slow-model-url', 'https://models.example/slow.onnx', '--slow-model-sha256', SHA.toUpperCase()])).toEqual({
      kind: 'run',
      namespace: 'siskin-demo',
      keep: false,
      fast: false,
      target: {
        kind: 'existing',
        kubeconfig: '/home/me/.kube/kind',
        image: { repository: 'registry.example/siskin', tag: '0.1.0' },
        prometheusUrl: 'http://prometheus.monitoring.svc:9090',
        model: { url: 'https://models.example/iris.onnx', sha256: SHA },
        slowModel: { url: 'https://models.example/slow.onnx', sha256: SHA },
      },
    });
  });

  test('KUBECONFIG in the environment means an existing cluster, unless --local', () => {
    expect(parseDemoArgs(EXISTING, { KUBECONFIG: '/k' })).toMatchObject({ target: { kind: 'existing', image: { tag: '0.1.0' } } });
    expect(parseDemoArgs(['--context', 'kind-kind', ...EXISTING])).toMatchObject({ target: { kind: 'existing', context: 'kind-kind' } });
    expect(parseDemoArgs(['--local'], { KUBECONFIG: '/k' })).toMatchObject({ target: { kind: 'local' } });
  });

  test.each<[string, string[], Record<string, string>, RegExp]>([
    ['an unknown flag', ['--bogus'], {}, /Unknown option '--bogus'/],
    ['a positional argument', ['iris'], {}, /Unexpected argument 'iris'/],
    ['a bad namespace', ['--namespace', 'ML_Team'], {}, /--namespace ML_Team: must be a DNS label/],
    ['existing-cluster flags on the local cluster', ['--image', 'x:1'], {}, /--image: only for an existing cluster/],
    ['--local with --kubeconfig', ['--local', '--kubeconfig', '/k'], {}, /exclude each other/],
    ['an image without tag or digest', ['--kubeconfig', '/k', ...EXISTING.slice(2), '--image', 'registry.example:5000/siskin'], {}, /give a tag or a digest/],
    ['a bad sha256', ['--kubeconfig', '/k', ...EXISTING.slice(0, -1), 'abc'], {}, /--model-sha256: must be 64 hex digits/],
    ['a model that is not http(s)', ['--kubeconfig', '/k', ...EXISTING.slice(0, 4), '--model-url', 'file:///m.onnx', '--model-sha256', SHA], {}, /--model-url file:\/\/\/m.onnx: must be an http/],
    ['a slow model URL without its digest', ['--kubeconfig', '/k', ...EXISTING, '--slow-model-url', 'https://m/s.onnx'], {}, /go together/],
  ])('rejects %s', (_name, argv, env, message) => {
    expect(() => parseDemoArgs(argv, env)).toThrow(UsageError);
    expect(() => parseDemoArgs(argv, env)).toThrow(message);
  });

  test('an existing cluster without its flags: every missing one is named, with what it is for', () => {
    let error: Error | undefined;
    try {
      parseDemoArgs(['--kubeconfig', '/k']);
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(UsageError);
    expect(error!.message.split('\n')).toEqual([
      'on an existing cluster (with --kubeconfig/--context) the demo needs:',
      expect.stringMatching(/^ {2}--image REPO:TAG: .*kind load docker-image/),
      expect.stringMatching(/^ {2}--prometheus-url URL: /),
      expect.stringMatching(/^ {2}--model-url URL: .*--export-models/),
      expect.stringMatching(/^ {2}--model-sha256 HEX: /),
    ]);
    expect(() => parseDemoArgs(EXISTING.slice(2), { KUBECONFIG: '/k' })).toThrow(/with KUBECONFIG set \(pass --local for the local cluster\)[\s\S]*--image/);
  });
});

describe('parseImage', () => {
  test.each([
    ['siskin:0.1.0', { repository: 'siskin', tag: '0.1.0' }],
    ['registry.example:5000/ml/siskin:v2', { repository: 'registry.example:5000/ml/siskin', tag: 'v2' }],
    [`registry.example/siskin@sha256:${'b'.repeat(64)}`, { repository: 'registry.example/siskin', digest: `sha256:${'b'.repeat(64)}` }],
  ])('%s', (ref, parsed) => {
    expect(parseImage(ref)).toEqual(parsed);
  });
});

describe('USAGE', () => {
  test('says what an existing cluster needs', () => {
    for (const flag of ['--image', '--prometheus-url', '--model-url', '--model-sha256', '--kubeconfig', '--context', '--keep', 'kind load docker-image']) expect(USAGE).toContain(flag);
  });
});
