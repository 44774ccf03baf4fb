// `kubectl siskin lint`'s judgement of manifests and how it reports it. Whether it refuses
// exactly what the API server refuses is test/integration/cli/lintParity.test.ts's question;
// this is the shape of the answer: documents, skips, field paths, lines.
import { describe, expect, test } from '@jest/globals';
import { fieldPath, lintManifest, renderLint } from './lint.ts';

const SHA = 'e7d57e4b12b7b993d2ebfc1e0df5e8343433af0319a61493412d9f3e9c3a7000';
const iris = (spec = `  model: { uri: https://models.example/iris.onnx, sha256: ${SHA}, version: "1" }`): string =>
  `apiVersion: siskin.dev/v1alpha1\nkind: ModelDeployment\nmetadata: { name: iris }\nspec:\n${spec}\n`;

describe('fieldPath', () => {
  test.each<[PropertyKey[], string]>([
    [['spec', 'rollout', 'steps', 0, 'setWeight'], 'spec.rollout.steps[0].setWeight'],
    [['spec', 'model'], 'spec.model'],
    [[], '(object)'],
  ])('%j → %s', (path, want) => expect(fieldPath(path)).toBe(want));
});

describe('lintManifest', () => {
  test('a valid ModelDeployment has no errors; status is ignored as the API server ignores it', () => {
    const [doc] = lintManifest('iris.yaml', `${iris()}status: { phase: 42 }\n`);
    expect(doc).toEqual({ source: 'iris.yaml', index: 1, multi: false, kind: 'ModelDeployment', name: 'iris', errors: [], warnings: [] });
  });

  test.each<[string, string, string[]]>([
    // what, spec → error fields
    ['a wrong type', `  model: { uri: https://m.example/a.onnx, sha256: ${SHA}, version: "1" }\n  replicas: four`, ['spec.replicas']],
    ['a missing required field', `  model: { uri: https://m.example/a.onnx, sha256: ${SHA} }`, ['spec.model.version']],
    ['a CEL rule broken (its twin)', '  model: { uri: https://m.example/a.onnx, version: "1" }', ['spec.model.sha256']],
    ['an unknown field, deep', `  model: { uri: https://m.example/a.onnx, sha256: ${SHA}, version: "1" }\n  rollout: { steps: [{ setWeight: 10, weight: 10 }] }`, ['spec.rollout.steps[0].weight']],
    // As the API server: a wrong type stops every CEL rule, a bound does not.
    ['a wrong type with a broken rule: the type only', '  model: { uri: https://m.example/a.onnx, version: "1" }\n  replicas: two', ['spec.replicas']],
    ['a bound with a broken rule: both', '  model: { uri: https://m.example/a.onnx, version: "1" }\n  replicas: -1', ['spec.model.sha256', 'spec.replicas']],
    ['a quantity of the wrong form is the operator\'s check, not an error', `  model: { uri: https://m.example/a.onnx, sha256: ${SHA}, version: "1" }\n  serving: { resources: { limits: { cpu: lots } } }`, []],
  ])('%s is an error at its field', (_what, spec, fields) => {
    const [doc] = lintManifest('x.yaml', iris(spec));
    expect(doc!.errors.map((e) => e.field).sort()).toEqual(fields);
  });

  test('a check CEL cannot make is a warning, not an error', () => {
    const [doc] = lintManifest('x.yaml', iris(`  model: { uri: https://m.example/a.onnx, sha256: ${SHA}, version: "1" }\n  rollout: { freezeWindows: [{ name: w, days: [Sat], from: "00:00", to: "24:00", timeZone: Mars/Olympus }] }`));
    expect(doc!.errors).toEqual([]);
    expect(doc!.warnings).toEqual([{ field: 'spec.rollout.freezeWindows[0].timeZone', message: 'unknown IANA time zone' }]);
  });

  test('several documents: other kinds and empty ones are skipped with a note, broken YAML is an error', () => {
    const text = ['apiVersion: v1\nkind: Secret\nmetadata: { name: s }\n', iris(), '', 'a: [unclosed\n', iris('  replicas: 2')].join('---\n');
    const docs = lintManifest('all.yaml', text);
    expect(docs.map((d) => [d.index, d.skipped ?? d.errors.map((e) => e.field).join(',')])).toEqual([
      [1, 'not a ModelDeployment (v1, Secret)'],
      [2, ''],
      [3, 'empty document'],
      [4, '(document)'],
      [5, 'spec.model'],
    ]);
  });

  test('a ModelDeployment of an unserved version is an error at apiVersion', () => {
    const [doc] = lintManifest('x.yaml', iris().replace('v1alpha1', 'v1'));
    expect(doc!.errors).toEqual([{ field: 'apiVersion', message: 'ModelDeployment is served as siskin.dev/v1alpha1, not "siskin.dev/v1"' }]);
  });
});

describe('renderLint', () => {
  test('FILE[:doc N] kind/name: field: message, then a summary', () => {
    const docs = [...lintManifest('a.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: c }\n---\n${iris('  replicas: 2')}`), ...lintManifest('b.yaml', iris())];
    expect(renderLint(docs)).toBe(
      [
        'a.yaml:doc 1: skipped: not a ModelDeployment (v1, ConfigMap)',
        'a.yaml:doc 2 ModelDeployment/iris: spec.model: Invalid input: expected object, received undefined',
        'b.yaml ModelDeployment/iris: valid',
        '2 ModelDeployments linted, 1 invalid',
        '',
      ].join('\n'),
    );
  });
});
