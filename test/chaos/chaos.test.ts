// The chaos suite's CI form: each scenario at a small size, a fresh seed each run (printed;
// CHAOS_SEED=<seed> reproduces it). The full form is `npm run chaos` (RELIABILITY.md).
import { describe, expect, test } from '@jest/globals';
import { CI_SIZES, runControlPlane, runFreeze, runKill, runMemory, runNode, runProm, runServing } from './scenarios.ts';
import { NODE_FAULTS } from './nodeFaults.ts';

describe('chaos (CI form)', () => {
  test('the operator SIGKILLed at random moments during rollouts: each ends once, as its analysis says, leaving exactly its objects', async () => {
    const r = await runKill(CI_SIZES.kill);
    console.log(JSON.stringify(r));
    expect(r.kills).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  }, 420_000);

  test('a leader frozen past its lease and resumed makes no write, and two processes never both lead', async () => {
    const r = await runFreeze(CI_SIZES.freeze);
    console.log(JSON.stringify(r));
    expect(r.takeoverMs).toHaveLength(CI_SIZES.freeze.rounds);
    expect(r.violations).toEqual([]);
  }, 300_000);

  test('Prometheus down, hung, answering garbage or 503 during rollouts: never a promotion or a rollback on missing data, all resume when it is back', async () => {
    const r = await runProm(CI_SIZES.prom);
    console.log(JSON.stringify(r));
    expect(r.queriesFailed).toBeGreaterThan(0);
    expect(r.toResumeMs).toHaveLength(4);
    expect(r.violations).toEqual([]);
  }, 420_000);

  test('the API server unreachable while specs change, resumed watches meeting 410: every change acted on within 10 s of its return', async () => {
    const r = await runControlPlane(CI_SIZES.controlPlane);
    console.log(JSON.stringify(r));
    expect(r.toResumeMs.length + r.toResumeAfterRestartMs.length).toBe(CI_SIZES.controlPlane.outages);
    expect(r.violations).toEqual([]);
  }, 420_000);

  // RSS flatness is the full form's invariant: two minutes end inside the first ten, where RSS still climbs to its level.
  test('the serving process under hostile requests, a wave of slow connections and a short soak: no crash, no 5xx but 503, every slow connection timed out', async () => {
    const r = await runServing(CI_SIZES.serving);
    console.log(JSON.stringify({ ...r, slow: { ...r.slow, lifetimeMs: undefined } }));
    expect(r.hostile.sent).toBe(CI_SIZES.serving.hostile);
    expect(r.slow.opened).toBe(CI_SIZES.serving.slow * CI_SIZES.serving.waves);
    expect(r.valid.checked).toBeGreaterThan(0);
    expect(r.violations).toEqual([]);
  }, 300_000);

  test('the operator under a memory limit while analysis answers are huge: at the chart limit it lives, under a tight one restarts resume cleanly', async () => {
    const r = await runMemory(CI_SIZES.memory);
    console.log(JSON.stringify(r));
    expect(r.phases.map((p) => p.answerMiB > 0)).toEqual([true, true]);
    expect(r.violations).toEqual([]);
  }, 600_000);

  test('on the real node at 40 req/s, a canary pod, a stable pod, the kubelet and containerd each fail during a rollout: every rollout ends as its analysis says, failures only right after a fault', async () => {
    const r = await runNode(CI_SIZES.node);
    console.log(JSON.stringify(r));
    // A canary killed after its rollout already ended is reported, not injected: at most one such.
    expect([...r.faults.map((f) => f.fault), ...r.notInjected.map((n) => n.split(' (')[0])].sort()).toEqual([...NODE_FAULTS].sort());
    expect(r.faults.length).toBeGreaterThanOrEqual(NODE_FAULTS.length - 1);
    expect(r.requests).toBeGreaterThan(1_000);
    expect(r.violations).toEqual([]);
  }, 1_200_000);
});
