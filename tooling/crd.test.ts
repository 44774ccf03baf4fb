// The CRD is generated from the zod schema: these tests fail when crds/ is stale, when a
// field lacks a description, or when the schema stops being structural.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, GENERATED_HEADER, modelDeploymentCrd, renderCrdYaml, toStructural } from './crd.ts';
import { REFERENCE_FILE, renderReference } from './reference.ts';

type Json = Record<string, unknown>;

describe('crds/ is generated from the schema', () => {
  test(`${CRD_FILE} is current (regenerate with npm run gen:crds)`, () => {
    const onDisk = readFileSync(fileURLToPath(new URL(`../${CRD_FILE}`, import.meta.url)), 'utf8');
    expect(onDisk.startsWith(GENERATED_HEADER)).toBe(true);
    expect(onDisk).toBe(renderCrdYaml());
  });

  test('every spec and status field has a description, for kubectl explain', () => {
    const missing: string[] = [];
    const walk = (node: Json, path: string): void => {
      const props = node.properties as Record<string, Json> | undefined;
      for (const [name, child] of Object.entries(props ?? {})) {
        const p = `${path}.${name}`;
        if (typeof child.description !== 'string' || child.description.length === 0) missing.push(p);
        walk(child, p);
        if (child.items) walk(child.items as Json, `${p}[]`);
      }
    };
    const crd = modelDeploymentCrd() as { spec: { versions: { schema: { openAPIV3Schema: Json } }[] } };
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    const props = root.properties as Record<string, Json>;
    walk(props.spec!, 'spec');
    walk(props.status!, 'status');
    expect(missing).toEqual([]);
  });
});

describe('toStructural', () => {
  test.each<[string, Json, Json]>([
    ['drops $schema and propertyNames', { $schema: 'x', type: 'object', propertyNames: { type: 'string' } }, { type: 'object' }],
    ['turns const into a one-value enum', { type: 'string', const: 'Custom' }, { type: 'string', enum: ['Custom'] }],
    ['turns numeric exclusive bounds into OpenAPI v3 booleans', { type: 'number', exclusiveMinimum: 0 }, { type: 'number', minimum: 0, exclusiveMinimum: true }],
    ['keeps a map value schema, drops additionalProperties: false', { type: 'object', additionalProperties: false }, { type: 'object' }],
    [
      'makes int-or-string untyped',
      { anyOf: [{ type: 'string' }, { type: 'number' }], 'x-kubernetes-int-or-string': true },
      { 'x-kubernetes-int-or-string': true },
    ],
    [
      'removes the JS safe-integer noise',
      { type: 'integer', minimum: Number.MIN_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
      { type: 'integer' },
    ],
  ])('%s', (_what, input, want) => {
    expect(toStructural(input)).toEqual(want);
  });

  test('refuses a union that Kubernetes could not prune, naming the field', () => {
    expect(() => toStructural({ type: 'object', properties: { u: { anyOf: [{ type: 'string' }, { type: 'object' }] } } })).toThrow(/\$\.u: anyOf is not structural/);
  });
});

describe('the CRD YAML', () => {
  test('survives a YAML 1.1 reader: "Off" stays a string, not the boolean false', () => {
    const parsed = YAML.parse(renderCrdYaml(), { version: '1.1' }) as unknown;
    const text = JSON.stringify(parsed);
    expect(text).toContain('["Strict","AllowAdditive","Off"]');
  });
});

describe('the field reference', () => {
  test(`${REFERENCE_FILE} is current (regenerate with npm run gen:crds)`, () => {
    const onDisk = readFileSync(fileURLToPath(new URL(`../${REFERENCE_FILE}`, import.meta.url)), 'utf8');
    expect(onDisk).toBe(renderReference());
  });

  test('documents nested fields with their defaults and rules', () => {
    const doc = renderReference();
    expect(doc).toContain('| `spec.rollout.analysis.failureLimit` | integer |');
    expect(doc).toMatch(/`spec\.rollout\.schemaCheck` \| string \|.*one of `Strict`, `AllowAdditive`, `Off`; default `"Strict"`/);
    expect(doc).toContain('`spec.rollout.analysis.metrics[].maxRelativeToStable`');
  });
});
