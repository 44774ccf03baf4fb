// The cross-field rules as the operator enforces them (zod refinements): every row of the
// shared table judged here exactly as the API server's CEL judges it in
// test/integration/api/examples.test.ts, and every CEL rule of the CRD has a row.
import { describe, expect, test } from '@jest/globals';
import { RULE_CASES, type RuleCase } from '../../test/fixtures/specRules.ts';
import { modelDeploymentCrd } from '../../tooling/crd.ts';
import { GROUP, KIND, VERSION, modelDeploymentSchema } from './schema.ts';

type Json = Record<string, unknown>;

/** A zod issue path in Kubernetes notation: ["spec", "rollout", "steps", 0] → spec.rollout.steps[0]. */
function fieldOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : out === '' ? String(p) : `${out}.${String(p)}`), '');
}

/** The issues of the whole object as the operator parses it (reconcile.ts): the name's rules sit at its root. */
function issuesOf(c: RuleCase): { field: string; message: string; code: string }[] {
  const r = modelDeploymentSchema.safeParse({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name: c.name ?? 'rule-case' }, spec: c.spec });
  return r.success ? [] : r.error.issues.map((i) => ({ field: fieldOf(i.path), message: i.message, code: i.code }));
}

/** Every x-kubernetes-validations message in the CRD. */
function celMessages(): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Json)) {
        if (k === 'x-kubernetes-validations') out.push(...(v as { message: string }[]).map((r) => r.message));
        else walk(v);
      }
    }
  };
  walk(modelDeploymentCrd());
  return out;
}

describe('the cross-field rules in the operator', () => {
  test.each(RULE_CASES.filter((c) => c.rejects).map((c): [string, RuleCase] => [c.what, c]))('rejects %s, naming the field', (_what, c) => {
    const issues = issuesOf(c);
    expect(issues).toContainEqual(expect.objectContaining({ field: c.rejects!.field, message: expect.stringContaining(c.rejects!.message) }));
    // Only rules object: the row is otherwise a valid spec, as it must be for the API server.
    expect(issues.filter((i) => i.code !== 'custom')).toEqual([]);
  });

  test.each(RULE_CASES.filter((c) => !c.rejects).map((c): [string, RuleCase] => [c.what, c]))('accepts %s', (_what, c) => {
    expect(issuesOf(c)).toEqual([]);
  });

  test('every CEL rule of the CRD has a rejected row in the table (so the API server checks it too)', () => {
    const covered = (message: string): boolean => RULE_CASES.some((c) => c.rejects !== undefined && message.startsWith(c.rejects.message));
    expect(celMessages().filter((m) => !covered(m))).toEqual([]);
  });
});
