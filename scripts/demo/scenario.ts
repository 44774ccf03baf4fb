// The demo's ModelDeployment and its three versions: a first one, a good second one rolled out
// step by step, and a slow third one the latency analysis rolls back. Pure manifest builders.
import type { StepView } from '../../operator/cli/render.ts';

/** The ModelDeployment's name, which is also the served model name. */
export const DEMO_MODEL = 'iris';

/** Where a model file is, with its digest. */
export interface ModelRef {
  url: string;
  sha256: string;
}

/** The rollout rules of one version. */
export interface RolloutSpec {
  steps: StepView[];
  analysis?: Record<string, unknown>;
}

/** The analysis every new version is judged by: p99 latency and error rate, every 10 s over 20 s. */
export function demoAnalysis(): Record<string, unknown> {
  return {
    intervalSeconds: 10,
    windowSeconds: 20,
    minSamples: 5,
    // One bad round is enough: the demo shows a rollback within seconds, not minutes.
    failureLimit: 0,
    // The first rounds after a canary is admitted have too few requests to judge.
    inconclusiveLimit: 10,
    metrics: [
      { name: 'latency-p99', kind: 'LatencyQuantile', quantile: 0.99, max: 0.25 },
      { name: 'error-rate', kind: 'ErrorRate', max: 0.05 },
    ],
  };
}

/** The good version's steps: 25 %, hold, 50 %, hold, then promotion. */
export function goodRollout(fast: boolean): RolloutSpec {
  const hold = fast ? 15 : 30;
  return {
    steps: [{ setWeight: 25 }, { pause: { durationSeconds: hold } }, { setWeight: 50 }, { pause: { durationSeconds: hold } }],
    analysis: demoAnalysis(),
  };
}

/** The slow version's steps: 25 % and a long hold, which the analysis cuts short. */
export function slowRollout(): RolloutSpec {
  return { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 300 } }], analysis: demoAnalysis() };
}

/** The ModelDeployment manifest of one version. */
export function demoModelDeployment(namespace: string, version: string, model: ModelRef, rollout: RolloutSpec): Record<string, unknown> {
  return {
    apiVersion: 'siskin.dev/v1alpha1',
    kind: 'ModelDeployment',
    metadata: { name: DEMO_MODEL, namespace },
    spec: {
      model: { uri: model.url, sha256: model.sha256, version },
      modelCard: { owner: 'siskin-demo', intendedUse: 'Siskin demo: iris-like tabular classifier', riskTier: 'low' },
      // Four pods: 25 % is one canary pod, 50 % two.
      replicas: 4,
      rollout,
    },
  };
}
