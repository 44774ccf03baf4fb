// The chaos suite's CI form: each scenario at a small size, a fresh seed each run (printed;
// CHAOS_SEED=<seed> reproduces it). The full form is `npm run chaos` (RELIABILITY.md).
import { describe, expect, test } from '@jest/globals';
import { CI_SIZES, runControlPlane, runFreeze, runKill, runProm } from './scenarios.ts';

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
});
