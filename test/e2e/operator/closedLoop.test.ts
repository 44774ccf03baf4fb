// The closed loop end to end on the real node, with replica-ratio routing: real serving pods of
// the repository's image, Prometheus discovering them through the API server, a load generator
// on the host sending traffic to the model's ClusterIP (kube-proxy splits it by ready
// endpoints). A good model is promoted through all steps with the measured split at each one;
// a slow one, one that disagrees with stable (also during a dark launch, before any client sees
// it), and one with another signature are stopped by the analysis and the schema gate;
// Prometheus going away holds a rollout that resumes when it comes back; a freeze window holds
// a new version until it ends.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { tabularClassifier } from '../../fixtures/onnxModels.ts';
import { canaryShare, failuresBetween, startTraffic, type Traffic } from '../../fixtures/traffic.ts';
import { waitFor } from '../../cluster/index.ts';
import { startE2E, modelDeployment, type E2E } from './harness.ts';
import type { ModelDeploymentStatus } from '../../../operator/api/schema.ts';

const MD = 'iris';

function condition(s: ModelDeploymentStatus, type: string): { status: string; reason: string; message: string } | undefined {
  return s.conditions?.find((c) => c.type === type);
}

/**
 * What the load generator saw over `ms`: the canary's share of answers, how many there were, the
 * failed requests sent in the window, and the failed ones sent before it that ended in it.
 */
async function measureSplit(
  traffic: Traffic,
  canaryRev: string,
  ms: number,
): Promise<{ share: number; answers: number; errors: number; carriedErrors: number; byStatus: Record<number, number> }> {
  traffic.take();
  await new Promise((r) => setTimeout(r, ms));
  const w = traffic.take();
  const answers = Object.values(w.byRevision).reduce((a, b) => a + b, 0);
  const failed = (by: Record<number, number>): number => Object.entries(by).filter(([code]) => code !== '200').reduce((a, [, n]) => a + n, 0);
  return { share: canaryShare(w, canaryRev), answers, errors: failed(w.byStatus), carriedErrors: failed(w.carriedOver), byStatus: w.byStatus };
}

describe('the closed loop on the real node (replica-ratio routing)', () => {
  let e2e: E2E;
  let traffic: Traffic | undefined;
  const models = new Map<string, { url: string; sha256: string }>();
  const model = (version: string, bytes: Uint8Array): { uri: string; sha256: string; version: string } => {
    const m = models.get(version) ?? e2e.store.add(`iris/${version}/model.onnx`, bytes);
    models.set(version, m);
    return { uri: m.url, sha256: m.sha256, version };
  };
  const analysis = (metrics: Record<string, unknown>[], over: Record<string, unknown> = {}): Record<string, unknown> => ({
    intervalSeconds: 5,
    windowSeconds: 20,
    minSamples: 10,
    failureLimit: 0,
    inconclusiveLimit: 100,
    metrics,
    ...over,
  });
  // Generous for a fast model on a busy two-core machine; the slow variant takes ~0.3 s per row.
  const LATENCY = { name: 'latency-p99', kind: 'LatencyQuantile', max: 0.25 };
  const ERRORS = { name: 'error-rate', kind: 'ErrorRate', max: 0.05 };
  const AGREEMENT = { name: 'agreement', kind: 'PredictionAgreement', min: 0.9, minSamples: 10 };
  const rollOut = async (version: string, bytes: Uint8Array, rollout: Record<string, unknown>): Promise<void> => {
    await e2e.apply(modelDeployment(MD, { model: model(version, bytes), modelCard: { owner: 'team-ml', riskTier: 'low' }, replicas: 4, rollout }));
  };

  beforeAll(async () => {
    e2e = await startE2E();
  });
  afterAll(async () => {
    await traffic?.stop();
    await e2e?.stop();
  });

  test('the first version serves through the Service once its pods are admitted', async () => {
    await rollOut('1', tabularClassifier({ seed: 7 }), { steps: [] });
    const s = await e2e.waitStatus(MD, 'Ready', (st) => condition(st, 'Ready')?.status === 'True');
    // The stable signature, read from the pod's own model metadata, is kept for the schema gate.
    expect(s.stable?.signature?.inputs).toEqual([{ name: 'input', datatype: 'FP32', shape: [-1, 4] }]);
    const ip = await e2e.serviceIP(MD);
    traffic = startTraffic({ baseUrl: `http://${ip}`, model: MD, rps: 40 });
    // A new Service's ClusterIP works once kube-proxy has programmed it, which may lag the pods
    // being ready by a moment on a busy node: from the first answer on, nothing may fail.
    const t = traffic;
    await waitFor('the Service to answer', () => Promise.resolve(t.lastSeen(s.stable!.name) !== undefined ? true : undefined), { timeoutMs: 30_000, intervalMs: 50 });
    const split = await measureSplit(traffic, 'none', 3_000);
    expect(split.answers).toBeGreaterThan(50);
    expect({ errors: split.errors + split.carriedErrors, byStatus: split.byStatus }).toMatchObject({ errors: 0 });
  }, 300_000);

  test('a good version is promoted through every step, the split measured at each', async () => {
    const start = traffic!.totals();
    await rollOut('2', tabularClassifier({ seed: 7 }), {
      steps: [{ setWeight: 25 }, { pause: { durationSeconds: 20 } }, { setWeight: 50 }, { pause: { durationSeconds: 20 } }],
      analysis: analysis([LATENCY, ERRORS, AGREEMENT]),
    });
    const at25 = await e2e.waitStatus(MD, 'canary admitted at weight 25', (s) => s.canary?.version === '2' && s.canaryWeight === 25 && (s.currentStepIndex ?? 0) >= 1);
    const canaryRev = at25.canary!.name;
    const split25 = await measureSplit(traffic!, canaryRev, 6_000);
    const at50 = await e2e.waitStatus(MD, 'weight 50', (s) => s.canaryWeight === 50 && (s.currentStepIndex ?? 0) >= 3, 120_000);
    const split50 = await measureSplit(traffic!, canaryRev, 6_000);
    // Shadow comparison runs for real: stable pods mirror to the canary Service and agree.
    const measured = await e2e.waitStatus(MD, 'agreement measured', (s) => s.analysis?.measurements.some((m) => m.metric === 'agreement' && m.verdict === 'Pass') === true, 60_000);
    const promoted = await e2e.waitStatus(MD, 'promoted', (s) => s.stable?.version === '2' && condition(s, 'Ready')?.status === 'True', 180_000);
    // The old pods leave the endpoints a moment after the scale-down (and keep answering
    // until then, thanks to their preStop pause): measure once they are out.
    const during = await measureSplit(traffic!, canaryRev, 3_000);
    const after = await measureSplit(traffic!, canaryRev, 4_000);
    // Every request from the new spec to the old pods gone, not only those in the windows.
    const whole = failuresBetween(start, traffic!.totals());
    console.log(
      `good rollout: split at 25 → ${split25.share.toFixed(1)}% of ${split25.answers}; at 50 → ${split50.share.toFixed(1)}% of ${split50.answers}; after promotion ${after.share.toFixed(1)}%; ` +
        `across the whole promotion at 40 req/s: ${whole.failed} of ${whole.requests} requests failed ${JSON.stringify({ byStatus: whole.byStatus, network: whole.network })}`,
    );
    expect(whole).toMatchObject({ failed: 0 });
    expect(at25.canaryWeight).toBe(25);
    expect(at50.canaryWeight).toBe(50);
    expect(Math.abs(split25.share - 25)).toBeLessThanOrEqual(12);
    expect(Math.abs(split50.share - 50)).toBeLessThanOrEqual(12);
    expect(after.share).toBe(100);
    // A good version loses nothing: neither the requests sent in a window nor those still in flight from before it.
    const lost = (m: { errors: number; carriedErrors: number }): number => m.errors + m.carriedErrors;
    expect({ at25: lost(split25), at50: lost(split50), during: lost(during), after: lost(after), statuses: [split25.byStatus, split50.byStatus, during.byStatus, after.byStatus] }).toMatchObject({
      at25: 0,
      at50: 0,
      during: 0,
      after: 0,
    });
    const agreement = measured.analysis!.measurements.find((m) => m.metric === 'agreement')!;
    expect(agreement.value).toBeGreaterThanOrEqual(0.9);
    expect(promoted.history?.at(-1)).toMatchObject({ version: '2', outcome: 'Promoted' });
  }, 300_000);

  test('a slow version is rolled back automatically: traffic leaves at the speed of an endpoint update', async () => {
    // ~330 ms a row on one worker: slow against the 0.25 s gate, and its quarter of 40 req/s
    // (10 req/s) is three times what it can serve, so a queue builds on it. Requests still
    // queued there when traffic leaves may time out in the client (5 s): the bad version's
    // cost, counted apart. Anything else failing would be ours.
    const start = traffic!.totals();
    await rollOut('3-slow', tabularClassifier({ seed: 7, slowLayers: 200 }), {
      steps: [{ setWeight: 25 }, { pause: { durationSeconds: 300 } }],
      analysis: analysis([LATENCY, ERRORS], { intervalSeconds: 10, minSamples: 5 }),
    });
    const rolling = await e2e.waitStatus(MD, 'slow canary admitted', (s) => s.canary?.version === '3-slow' && (s.currentStepIndex ?? 0) >= 1);
    const canaryRev = rolling.canary!.name;
    const rolledBack = await e2e.waitStatus(MD, 'rolled back', (s) => s.phase === 'RolledBack', 120_000);
    const decidedAt = Date.now();
    const firstTraffic = traffic!.firstSeen(canaryRev);
    expect(firstTraffic).toBeDefined();
    // Traffic leaves once the readiness gate drops the pods from the endpoints…
    await new Promise((r) => setTimeout(r, 3_000));
    const lastCanaryAnswer = traffic!.lastSeen(canaryRev)!;
    const lastSentToCanary = traffic!.lastSentTo(canaryRev)!;
    const after = await measureSplit(traffic!, canaryRev, 4_000);
    // …and the pods terminate afterwards.
    await waitFor('canary pods gone', async () => ((await e2e.cluster.kubectlOk(['get', 'pods', '-l', `siskin.dev/revision=${canaryRev}`, '-o', 'name'])).trim() === '' ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 250,
    });
    const podsGoneAt = Date.now();
    const decision = Date.parse(rolledBack.history!.at(-1)!.finishedAt);
    // The whole rollout, slow canary included: the only failures allowed are client timeouts
    // of requests the slow canary held in its queue.
    const whole = failuresBetween(start, traffic!.totals());
    console.log(
      `slow rollback (interval 10 s, window 20 s, scrape 2 s, failureLimit 0): first canary answer → rolled back ${((decidedAt - firstTraffic!) / 1000).toFixed(1)} s (status seen), ` +
        `decision → last request routed to the canary ${((lastSentToCanary - decision) / 1000).toFixed(2)} s (its queue answered until ${((lastCanaryAnswer - decision) / 1000).toFixed(2)} s), decision → canary pods gone ${((podsGoneAt - decision) / 1000).toFixed(1)} s; ` +
        `after the rollback: ${after.errors} of the requests sent failed, ${after.carriedErrors} sent before it (queued on the slow canary) timed out; ` +
        `across the whole rollout and rollback at 40 req/s: ${whole.failed} of ${whole.requests} requests failed ${JSON.stringify({ byStatus: whole.byStatus, network: whole.network })}`,
    );
    expect({ failedOtherThanTimeouts: whole.failed - whole.network.timeout, byStatus: whole.byStatus, network: whole.network }).toMatchObject({ failedOtherThanTimeouts: 0 });
    expect(after.share).toBe(0);
    // Every request sent once traffic left is answered; one already queued on the canary the
    // analysis judged too slow may still time out in the client: that is the bad version's cost.
    expect(after.errors).toBe(0);
    expect(rolledBack.canaryWeight).toBe(0);
    const stalled = condition(rolledBack, 'Stalled')!;
    expect(stalled.reason).toBe('AnalysisFailed');
    expect(stalled.message).toMatch(/latency-p99 = [\d.]+ violates <= 0\.25/);
    expect(rolledBack.history?.at(-1)).toMatchObject({ version: '3-slow', outcome: 'RolledBack' });
    expect(rolledBack.stable?.version).toBe('2');
    const events = await e2e.cluster.kubectlOk(['get', 'events', '--field-selector', `involvedObject.name=${MD},type=Warning,reason=AnalysisFailed`, '-o', 'jsonpath={.items[*].message}']);
    expect(events).toMatch(/latency-p99/);
  }, 300_000);

  test('a version whose predictions disagree with stable is rolled back by the agreement gate', async () => {
    await rollOut('4-disagrees', tabularClassifier({ seed: 99 }), {
      steps: [{ setWeight: 25 }, { pause: { durationSeconds: 300 } }],
      analysis: analysis([ERRORS, AGREEMENT]),
    });
    await e2e.waitStatus(MD, 'disagreeing canary admitted', (s) => s.canary?.version === '4-disagrees' && (s.currentStepIndex ?? 0) >= 1);
    const s = await e2e.waitStatus(MD, 'rolled back', (st) => st.phase === 'RolledBack' && st.canary?.version === '4-disagrees', 120_000);
    expect(condition(s, 'Stalled')?.message).toMatch(/agreement = [\d.]+ violates >= 0\.9/);
    expect(s.stable?.version).toBe('2');
  }, 300_000);

  test('a dark launch: a version that disagrees is rolled back during its shadow step, having answered no client', async () => {
    await rollOut('4-dark', tabularClassifier({ seed: 99 }), {
      steps: [{ shadow: { durationSeconds: 600, sampleRate: 0.5 } }, { setWeight: 25 }, { pause: {} }],
      analysis: analysis([ERRORS, AGREEMENT]),
    });
    const s = await e2e.waitStatus(MD, 'rolled back in the shadow step', (st) => st.phase === 'RolledBack' && st.canary?.version === '4-dark', 180_000);
    expect(s.currentStepIndex).toBe(0);
    expect(s.canaryWeight).toBe(0);
    expect(condition(s, 'Stalled')?.message).toMatch(/agreement = [\d.]+ violates >= 0\.9/);
    expect(s.stable?.version).toBe('2');
    // The canary's pods ran and answered the requests stable mirrored to them (the errors metric
    // was judged on those), but not one client request: the load generator never saw its answer,
    // and its own counters hold no inference request but mirrored ones (the probes' and the
    // schema gate's metadata reads are other routes).
    expect(traffic!.firstSeen(s.canary!.name)).toBeUndefined();
    const count = async (route: string): Promise<number> =>
      (await e2e.prom.query(`sum(max_over_time(siskin_requests_total{revision="${s.canary!.name}",route=~"${route}"}[10m]))`))[0]?.value ?? 0;
    expect(await count('mirrored')).toBeGreaterThan(0);
    expect(await count('/v2/models/.*/infer')).toBe(0);
  }, 300_000);

  test('a version with another input signature never takes traffic', async () => {
    await rollOut('5-renamed', tabularClassifier({ seed: 7, inputName: 'features' }), { steps: [{ setWeight: 25 }, { pause: {} }], analysis: analysis([ERRORS]) });
    const s = await e2e.waitStatus(MD, 'schema gate rejected', (st) => st.canary?.version === '5-renamed' && condition(st, 'Stalled')?.reason === 'SchemaIncompatible', 120_000);
    expect(condition(s, 'Stalled')?.message).toMatch(/input "input": removed/);
    expect(s.canaryWeight).toBe(0);
    expect(traffic!.firstSeen(s.canary!.name)).toBeUndefined();
    const gate = await e2e.cluster.kubectlOk(['get', 'pods', '-l', `siskin.dev/revision=${s.canary!.name}`, '-o', 'jsonpath={.items[*].status.conditions[?(@.type=="siskin.dev/admitted")].status}']);
    expect(gate.split(' ').filter(Boolean).every((x) => x === 'False')).toBe(true);
  }, 300_000);

  test('Prometheus going away makes the analysis Inconclusive and holds the rollout; back, the rollout goes on', async () => {
    await rollOut('6', tabularClassifier({ seed: 7 }), { steps: [{ setWeight: 25 }, { pause: { durationSeconds: 10 } }], analysis: analysis([LATENCY, ERRORS]) });
    await e2e.waitStatus(MD, 'a passing round', (s) => s.canary?.version === '6' && s.analysis?.lastVerdict === 'Pass');
    await e2e.prom.kill();
    try {
      const held = await e2e.waitStatus(MD, 'inconclusive', (s) => s.analysis?.lastVerdict === 'Inconclusive' && s.analysis.measurements.every((m) => m.verdict === 'Inconclusive'), 60_000);
      expect(held.analysis!.measurements[0]!.reason).toMatch(/unreachable/);
      // Well past the pause: with no passing round, nothing is promoted.
      await new Promise((r) => setTimeout(r, 15_000));
      const still = await e2e.status(MD);
      expect(still.stable?.version).toBe('2');
      expect(still.canary?.version).toBe('6');
      expect(condition(still, 'Progressing')?.reason).toBe('AwaitingPassingAnalysis');
    } finally {
      await e2e.prom.start();
    }
    const promoted = await e2e.waitStatus(MD, 'promoted after Prometheus returned', (s) => s.stable?.version === '6', 180_000);
    expect(promoted.history?.at(-1)).toMatchObject({ version: '6', outcome: 'Promoted' });
  }, 300_000);

  test('a freeze window holds a new version and releases it when the window ends', async () => {
    const until = new Date(Date.now() + 25_000);
    await rollOut('7', tabularClassifier({ seed: 7 }), {
      steps: [{ setWeight: 50 }],
      freezeWindows: [{ name: 'launch', start: new Date(Date.now() - 60_000).toISOString(), end: until.toISOString() }],
    });
    const frozen = await e2e.waitStatus(MD, 'frozen', (s) => condition(s, 'Progressing')?.reason === 'FreezeWindow');
    expect(frozen.canary).toBeUndefined();
    expect(condition(frozen, 'Progressing')?.message).toContain('launch');
    const promoted = await e2e.waitStatus(MD, 'promoted after the window', (s) => s.stable?.version === '7', 180_000);
    expect(Date.parse(promoted.history!.at(-1)!.startedAt!)).toBeGreaterThanOrEqual(until.getTime() - 1_000);
  }, 300_000);
});
