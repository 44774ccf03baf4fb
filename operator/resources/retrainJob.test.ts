// The retraining Job builder refuses, on its own, every template outside the restricted profile
// that admission refuses (the shared table of test/fixtures/specRules.ts): the CRD on a cluster
// may be older than the operator, and the Job is created with the operator's identity.
import { describe, expect, test } from '@jest/globals';
import { RULE_CASES } from '../../test/fixtures/specRules.ts';
import { RETRAIN_SERVICE_ACCOUNT } from '../api/schema.ts';
import { RetrainRefusedError, retrainJob, type RetrainContext } from './retrainJob.ts';

const ctx: RetrainContext = {
  owner: { name: 'demand', namespace: 'ml', uid: 'u' },
  modelName: 'demand',
  revision: 'abcdef0123',
  version: '2',
  uri: 'file:///models/demand.onnx',
  reason: 'DataDrift',
  message: 'feature PSI 0.4 > 0.2',
  slot: 1,
};

type Template = Record<string, unknown>;
const templateOf = (spec: Record<string, unknown>): Template | undefined =>
  (spec as { monitoring?: { retraining?: { jobTemplate?: Template } } }).monitoring?.retraining?.jobTemplate;
const jobRows = RULE_CASES.flatMap((c) => {
  const t = templateOf(c.spec);
  return t ? [{ ...c, template: t }] : [];
});

/** The error retrainJob throws for a template, or undefined when it builds. */
function refusal(template: Template): RetrainRefusedError | undefined {
  try {
    retrainJob(template, ctx);
    return undefined;
  } catch (err) {
    if (err instanceof RetrainRefusedError) return err;
    throw err;
  }
}

describe('retrainJob under the restricted profile', () => {
  test('the shared table has escalations to refuse', () => {
    expect(jobRows.filter((r) => r.rejects).length).toBeGreaterThanOrEqual(9);
  });

  test.each(jobRows.filter((r) => r.rejects).map((r): [string, (typeof jobRows)[number]] => [r.what, r]))('refuses %s, naming the field admission names', (_what, r) => {
    const err = refusal(r.template);
    expect(err).toBeInstanceOf(RetrainRefusedError);
    expect(err!.field.startsWith(r.rejects!.field)).toBe(true);
    expect(err!.message).toContain(r.rejects!.message);
  });

  test.each(jobRows.filter((r) => !r.rejects).map((r): [string, Template] => [r.what, r.template]))('builds %s', (_what, template) => {
    expect(refusal(template)).toBeUndefined();
  });

  test("without a ServiceAccount the pod runs as the namespace's default with no API token mounted", () => {
    const job = retrainJob({ template: { spec: { restartPolicy: 'Never', containers: [{ name: 't', image: 'i' }] } } }, ctx);
    expect(job.spec!.template.spec!.serviceAccountName).toBeUndefined();
    expect(job.spec!.template.spec!.automountServiceAccountToken).toBe(false);
  });

  test(`under ${RETRAIN_SERVICE_ACCOUNT} the platform team's account decides about its token`, () => {
    const job = retrainJob({ template: { spec: { serviceAccountName: RETRAIN_SERVICE_ACCOUNT, containers: [{ name: 't', image: 'i' }] } } }, ctx);
    expect(job.spec!.template.spec!.serviceAccountName).toBe(RETRAIN_SERVICE_ACCOUNT);
    expect(job.spec!.template.spec!.automountServiceAccountToken).toBeUndefined();
  });

  test('the template it was given is left untouched', () => {
    const template = { template: { spec: { containers: [{ name: 't', image: 'i' }] } } };
    const before = JSON.stringify(template);
    retrainJob(template, ctx);
    expect(JSON.stringify(template)).toBe(before);
  });
});
