// The model name admission accepts is exactly the one the serving runtime starts with: the CRD's
// model.name rule and the object-name rules (the default model name is the object's name) are
// fed, at their edges, to the serving runtime's own validator (serving/config.ts). A name the
// CRD let through and the server refused made every pod exit 2 and crash-loop.
import { describe, expect, test } from '@jest/globals';
import { parseConfig } from '../../serving/config.ts';
import { GROUP, KIND, MAX_NAME_LENGTH, VERSION, modelDeploymentSchema, modelSpec } from '../../operator/api/schema.ts';

const served = (name: string): boolean => parseConfig({ SISKIN_MODEL_NAME: name, SISKIN_MODEL_URI: 'file:///models/m.onnx' }).ok;
const admittedAsModelName = (name: string): boolean => modelSpec.safeParse({ name, uri: 'file:///models/m.onnx', version: '1' }).success;
const admittedAsObjectName = (name: string): boolean =>
  modelDeploymentSchema.safeParse({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name }, spec: { model: { uri: 'file:///models/m.onnx', version: '1' } } }).success;

describe('model.name', () => {
  test.each<[string, string, boolean]>([
    ['one letter', 'm', true],
    ['one digit', '7', true],
    ['64 characters', `a${'b'.repeat(62)}c`, true],
    ['65 characters', `a${'b'.repeat(63)}c`, false],
    ['128 characters (the old CRD limit)', 'm'.repeat(128), false],
    ['dots, dashes and underscores inside', 'Fraud_v2.1-beta', true],
    ['a trailing "."', 'iris.', false],
    ['a trailing "-"', 'iris-', false],
    ['a trailing "_"', 'iris_', false],
    ['a leading "_"', '_iris', false],
    ['a space', 'ir is', false],
    ['an empty string', '', false],
  ])('%s: admitted and served alike', (_what, name, expected) => {
    expect(served(name)).toBe(expected);
    expect(admittedAsModelName(name)).toBe(expected);
  });
});

describe('the object name, which is the default model name', () => {
  test.each<[string, string, boolean]>([
    ['one letter', 'm', true],
    ['the longest admitted', `m${'-a'.repeat((MAX_NAME_LENGTH - 2) / 2)}b`, true],
    ['one character longer', 'm'.repeat(MAX_NAME_LENGTH + 1), false],
    ['a trailing "-"', 'iris-', false],
    ['a leading digit', '7iris', false],
    ['a dot', 'iris.v2', false],
    ['upper case', 'Iris', false],
  ])('%s: every name admission accepts is served as a model name', (_what, name, admitted) => {
    expect(admittedAsObjectName(name)).toBe(admitted);
    if (admitted) expect(served(name)).toBe(true);
  });
});
