// End to end on the real node, the other half of the closed loop: Gateway API routing through
// Traefik (the HTTPRoute weights the operator writes decide the real split, also after a
// rollback; header routes send testers to the canary ahead of the weights), drift on the stable revision starting exactly one retraining Job per cooldown,
// accuracy decay from fed-back labels with its own reason, labels scored across four replicas
// behind one Service, and the built-in autoscaler following real load up and back down.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { ModelDeploymentStatus } from '../../../operator/api/schema.ts';
import { createHostPathClaim, installGatewayApiCrds, startTraefik, TRAEFIK_CONTROLLER, waitFor, type LocalTraefik } from '../../cluster/index.ts';
import { tabularClassifier } from '../../fixtures/onnxModels.ts';
import { canaryShare, irisRows, startTraffic, type Traffic } from '../../fixtures/traffic.ts';
import { allQueries } from '../../../tooling/observability/queries.ts';
import { ACTIVATOR_FAILED_OUTCOMES } from '../../../tooling/observability/alerts.ts';
import { IMAGE, modelDeployment, startE2E, type E2E } from './harness.ts';

const GW = 'gateway.networking.k8s.io';

function condition(s: ModelDeploymentStatus, type: string): { status: string; reason: string; message: string } | undefined {
  return s.conditions?.find((c) => c.type === type);
}

describe('routing and monitoring on the real node', () => {
  let e2e: E2E;
  let traefik: LocalTraefik | undefined;
  const running: Traffic[] = [];
  const traffic = (opts: Parameters<typeof startTraffic>[0]): Traffic => {
    const t = startTraffic(opts);
    running.push(t);
    return t;
  };
  const model = (name: string, version: string, bytes: Uint8Array): { uri: string; sha256: string; version: string } => {
    const m = e2e.store.add(`${name}/${version}/model.onnx`, bytes);
    return { uri: m.url, sha256: m.sha256, version };
  };
  const split = async (t: Traffic, canaryRev: string, ms: number): Promise<{ share: number; answers: number }> => {
    t.take();
    await new Promise((r) => setTimeout(r, ms));
    const w = t.take();
    return { share: canaryShare(w, canaryRev), answers: Object.values(w.byRevision).reduce((a, b) => a + b, 0) };
  };

  beforeAll(async () => {
    e2e = await startE2E();
  });

  /**
   * Traefik and its Gateway `web` (started once for the suite), with the platform team's
   * HTTPRoute `name` applied under their GitOps tool's field manager: Siskin owns only its parts.
   */
  const gatewayWith = async (name: string, rules: Record<string, unknown>[]): Promise<LocalTraefik> => {
    if (!traefik) {
      await installGatewayApiCrds(e2e.cluster);
      traefik = await startTraefik(e2e.cluster, e2e.cluster.adminToken);
    }
    const gw = traefik;
    await e2e.cluster.kubectlOk(['apply', '--server-side', '--field-manager=gitops', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: [
          { apiVersion: `${GW}/v1`, kind: 'GatewayClass', metadata: { name: 'traefik' }, spec: { controllerName: TRAEFIK_CONTROLLER } },
          { apiVersion: `${GW}/v1`, kind: 'Gateway', metadata: { name: 'web', namespace: 'default' }, spec: { gatewayClassName: 'traefik', listeners: [{ name: 'http', protocol: 'HTTP', port: gw.port }] } },
          { apiVersion: `${GW}/v1`, kind: 'HTTPRoute', metadata: { name, namespace: 'default' }, spec: { parentRefs: [{ name: 'web' }], rules } },
        ],
      }),
    });
    return gw;
  };
  afterAll(async () => {
    await Promise.allSettled(running.map((t) => t.stop()));
    await traefik?.stop();
    await e2e?.stop();
  });

  test('Gateway API: the HTTPRoute weights the operator owns split real traffic through Traefik, and a rollback sends it all back', async () => {
    const routing = { type: 'GatewayAPI', httpRoute: 'routed' };
    const gw = await gatewayWith('routed', [
      { matches: [{ path: { type: 'PathPrefix', value: '/v2/models/routed' } }], backendRefs: [{ name: 'routed-stable', port: 80, weight: 100 }, { name: 'routed-canary', port: 80, weight: 0 }] },
    ]);
    const v1 = model('routed', '1', tabularClassifier({ seed: 7 }));
    await e2e.apply(modelDeployment('routed', { model: v1, replicas: 2, rollout: { steps: [], trafficRouting: routing } }));
    await e2e.waitStatus('routed', 'Ready', (s) => condition(s, 'Ready')?.status === 'True');
    const t = traffic({ baseUrl: gw.url, model: 'routed', rps: 40 });
    await waitFor('the route to serve', async () => ((await split(t, 'none', 1_000)).answers > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });

    const v2 = model('routed', '2', tabularClassifier({ seed: 7 }));
    await e2e.apply(
      modelDeployment('routed', {
        model: v2,
        replicas: 2,
        rollout: {
          steps: [{ setWeight: 30 }, { pause: { durationSeconds: 15 } }],
          trafficRouting: routing,
          analysis: { intervalSeconds: 5, windowSeconds: 20, minSamples: 10, metrics: [{ name: 'error-rate', kind: 'ErrorRate', max: 0.05 }] },
        },
      }),
    );
    const at30 = await e2e.waitStatus('routed', 'weight 30 on the route', (s) => s.canary?.version === '2' && (s.currentStepIndex ?? 0) >= 1);
    const rev2 = at30.canary!.name;
    const s30 = await split(t, rev2, 6_000);
    await e2e.waitStatus('routed', 'promoted', (s) => s.stable?.version === '2' && condition(s, 'Ready')?.status === 'True');
    await new Promise((r) => setTimeout(r, 3_000));
    const s100 = await split(t, rev2, 4_000);

    const v3 = model('routed', '3', tabularClassifier({ seed: 99 }));
    await e2e.apply(modelDeployment('routed', { model: v3, replicas: 2, rollout: { steps: [{ setWeight: 40 }, { pause: {} }], trafficRouting: routing } }));
    const at40 = await e2e.waitStatus('routed', 'weight 40 on the route', (s) => s.canary?.version === '3' && (s.currentStepIndex ?? 0) >= 1);
    const rev3 = at40.canary!.name;
    const s40 = await split(t, rev3, 6_000);
    await e2e.cluster.kubectlOk(['annotate', '--overwrite', 'md/routed', `siskin.dev/command=abort:${Date.now()}`]);
    await e2e.waitStatus('routed', 'rolled back', (s) => s.phase === 'RolledBack');
    await new Promise((r) => setTimeout(r, 2_000));
    const s0 = await split(t, rev3, 5_000);
    console.log(`gateway split: weight 30 → ${s30.share.toFixed(1)}% of ${s30.answers}; promoted → ${s100.share.toFixed(1)}%; weight 40 → ${s40.share.toFixed(1)}%; after rollback → ${s0.share.toFixed(1)}% of ${s0.answers}`);
    expect(Math.abs(s30.share - 30)).toBeLessThanOrEqual(10);
    expect(s100.share).toBe(100);
    expect(Math.abs(s40.share - 40)).toBeLessThanOrEqual(10);
    expect(s0.share).toBe(0);
    expect(s0.answers).toBeGreaterThan(50);
    const route = (await e2e.cluster.kubeConfig().makeApiClient(CustomObjectsApi).getNamespacedCustomObject({ group: GW, version: 'v1', namespace: 'default', plural: 'httproutes', name: 'routed' })) as {
      spec: { parentRefs: { name: string }[]; rules: { matches: unknown[]; backendRefs: { name: string; weight: number }[] }[] };
    };
    // The platform team's fields are as they wrote them; only the weights moved.
    expect(route.spec.parentRefs).toEqual([{ group: GW, kind: 'Gateway', name: 'web' }]);
    expect(route.spec.rules[0]!.matches).toEqual([{ path: { type: 'PathPrefix', value: '/v2/models/routed' } }]);
    expect(Object.fromEntries(route.spec.rules[0]!.backendRefs.map((b) => [b.name, b.weight]))).toEqual({ 'routed-stable': 100, 'routed-canary': 0 });
  }, 300_000);

  test('header routes through Traefik: testers with the header reach only the canary, the rest follow the weights, and the rule goes on promotion and on abort', async () => {
    expect(traefik).toBeDefined(); // the Gateway API test above installed Traefik and the Gateway
    const routing = { type: 'GatewayAPI', httpRoute: 'tested' };
    const custom = e2e.cluster.kubeConfig().makeApiClient(CustomObjectsApi);
    type Rule = { name?: string; matches: unknown[]; backendRefs: { name: string; weight: number }[] };
    const rules = async (): Promise<Rule[]> =>
      ((await custom.getNamespacedCustomObject({ group: GW, version: 'v1', namespace: 'default', plural: 'httproutes', name: 'tested' })) as { spec: { rules: Rule[] } }).spec.rules;
    await e2e.cluster.kubectlOk(['apply', '--server-side', '--field-manager=gitops', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: `${GW}/v1`,
        kind: 'HTTPRoute',
        metadata: { name: 'tested', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'web' }],
          rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/models/tested' } }], backendRefs: [{ name: 'tested-stable', port: 80, weight: 100 }, { name: 'tested-canary', port: 80, weight: 0 }] }],
        },
      }),
    });
    const userRules = await rules();
    await e2e.apply(modelDeployment('tested', { model: model('tested', '1', tabularClassifier({ seed: 7 })), replicas: 2, rollout: { steps: [], trafficRouting: routing } }));
    await e2e.waitStatus('tested', 'Ready', (s) => condition(s, 'Ready')?.status === 'True');
    const testers = traffic({ baseUrl: traefik!.url, model: 'tested', rps: 20, headers: { 'x-siskin-canary': 'true' } });
    const others = traffic({ baseUrl: traefik!.url, model: 'tested', rps: 30 });
    await waitFor('the route to serve', async () => ((await split(others, 'none', 1_000)).answers > 0 ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    const steps = [{ setHeaderRoute: { name: 'testers', match: [{ header: 'x-siskin-canary', value: 'true' }] } }, { pause: {} }, { setWeight: 50 }, { pause: {} }];
    const promote = (): Promise<string> => e2e.cluster.kubectlOk(['annotate', '--overwrite', 'md/tested', `siskin.dev/command=promote:${Date.now()}`]);
    /** The shares of the canary among answers to the testers and to everyone else, measured over the same window. */
    const both = async (rev: string, ms: number): Promise<{ testers: { share: number; answers: number }; others: { share: number; answers: number } }> => {
      testers.take();
      others.take();
      await new Promise((r) => setTimeout(r, ms));
      const [t, o] = [testers.take(), others.take()];
      const sum = (w: typeof t): number => Object.values(w.byRevision).reduce((a, b) => a + b, 0);
      return { testers: { share: canaryShare(t, rev), answers: sum(t) }, others: { share: canaryShare(o, rev), answers: sum(o) } };
    };

    // Internal testers first: at weight 0 only requests with the header reach the canary.
    await e2e.apply(modelDeployment('tested', { model: model('tested', '2', tabularClassifier({ seed: 7 })), replicas: 2, rollout: { steps, trafficRouting: routing } }));
    const paused = await e2e.waitStatus('tested', 'the header route in place', (s) => s.canary?.version === '2' && s.currentStepIndex === 1 && s.headerRoutes?.[0] === 'testers');
    const rev2 = paused.canary!.name;
    expect(paused.canaryWeight).toBe(0);
    // Traefik applies a route change a moment after the API server stored it.
    const settled = (rev: string, share: number): Promise<true> =>
      waitFor(`testers at ${share}% canary`, async () => ((await split(testers, rev, 1_000)).share === share ? true : undefined), { timeoutMs: 30_000, intervalMs: 100 });
    await settled(rev2, 100);
    const atHeader = await both(rev2, 5_000);
    // Then percentages: half of everyone else, and still all of the testers.
    await promote();
    await e2e.waitStatus('tested', 'weight 50', (s) => s.currentStepIndex === 3 && s.canaryWeight === 50);
    const at50 = await both(rev2, 8_000);
    const during = await rules();
    await promote();
    await e2e.waitStatus('tested', 'promoted', (s) => s.stable?.version === '2' && condition(s, 'Ready')?.status === 'True');
    const afterPromotion = await rules();
    console.log(
      `header route: at weight 0 testers ${atHeader.testers.share.toFixed(1)}% canary of ${atHeader.testers.answers}, others ${atHeader.others.share.toFixed(1)}% of ${atHeader.others.answers}; ` +
        `at weight 50 testers ${at50.testers.share.toFixed(1)}% of ${at50.testers.answers}, others ${at50.others.share.toFixed(1)}% of ${at50.others.answers}`,
    );
    expect(atHeader.testers.share).toBe(100);
    expect(atHeader.testers.answers).toBeGreaterThan(30);
    expect(atHeader.others.share).toBe(0);
    expect(atHeader.others.answers).toBeGreaterThan(50);
    expect(at50.testers.share).toBe(100);
    expect(Math.abs(at50.others.share - 50)).toBeLessThanOrEqual(15);
    // During the rollout: the user's rule plus Siskin's, which narrows the user's match by the header.
    expect(during).toHaveLength(2);
    expect(during[1]).toEqual({
      name: 'siskin-tested.testers',
      matches: [{ path: { type: 'PathPrefix', value: '/v2/models/tested' }, headers: [{ name: 'x-siskin-canary', type: 'Exact', value: 'true' }] }],
      backendRefs: [{ group: '', kind: 'Service', name: 'tested-canary', port: 80, weight: 100 }],
    });
    // Promoted: the header rule is gone and the user's rule is exactly as written (weights back at rest).
    expect(afterPromotion).toEqual(userRules);

    // A rollout that is aborted takes its header route away too.
    await e2e.apply(modelDeployment('tested', { model: model('tested', '3', tabularClassifier({ seed: 99 })), replicas: 2, rollout: { steps, trafficRouting: routing } }));
    const again = await e2e.waitStatus('tested', 'the header route in place again', (s) => s.canary?.version === '3' && s.currentStepIndex === 1 && s.headerRoutes?.[0] === 'testers');
    expect((await rules()).map((r) => r.name)).toEqual([undefined, 'siskin-tested.testers']);
    await e2e.cluster.kubectlOk(['annotate', '--overwrite', 'md/tested', `siskin.dev/command=abort:${Date.now()}`]);
    const rolledBack = await e2e.waitStatus('tested', 'rolled back', (s) => s.phase === 'RolledBack');
    expect(rolledBack.headerRoutes).toBeUndefined();
    expect(await rules()).toEqual(userRules);
    await settled(again.canary!.name, 0);
    const afterAbort = await both(again.canary!.name, 4_000);
    expect(afterAbort.testers.share).toBe(0);
    expect(afterAbort.testers.answers).toBeGreaterThan(20);
    await Promise.all([testers.stop(), others.stop()]);
    await e2e.cluster.kubectlOk(['delete', 'modeldeployment', 'tested', '--wait=false']);
  }, 300_000);

  test('drift on the stable revision starts exactly one retraining Job per cooldown, with the reason DataDrift', async () => {
    const profiles = join(e2e.cluster.dir, 'profiles');
    await createHostPathClaim(e2e.cluster.kubeConfig(), { namespace: 'default', name: 'profiles', hostDir: profiles });
    // Training data: sepal length below 5.5 in 40% of rows (two of the five iris-like rows).
    writeFileSync(join(profiles, 'watched.json'), JSON.stringify({ features: [{ name: 'sepal_length', input: 'input', index: 0, edges: [5.5], expected: [0.4, 0.6] }] }), { mode: 0o644 });
    await e2e.apply(
      modelDeployment('watched', {
        model: { ...model('watched', '1', tabularClassifier({ seed: 7 })), referenceProfile: { uri: 'pvc://profiles/watched.json' } },
        replicas: 1,
        monitoring: {
          drift: { threshold: 0.2, windowSeconds: 30, intervalSeconds: 5, action: 'Retrain' },
          retraining: {
            cooldownSeconds: 60,
            jobTemplate: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'train', image: IMAGE, args: ['-e', 'console.log(`retraining ${process.env.SISKIN_MODEL_VERSION} for ${process.env.SISKIN_RETRAIN_REASON}`)'] }] } } },
          },
        },
      }),
    );
    await e2e.waitStatus('watched', 'Ready', (s) => condition(s, 'Ready')?.status === 'True');
    let drifted = false;
    const ip = await e2e.serviceIP('watched');
    traffic({ baseUrl: `http://${ip}`, model: 'watched', rps: 40, rows: (n) => (drifted ? [[2.0, 3.0, 1.5, 0.2]] : irisRows(n)) });
    const healthy = await e2e.waitStatus('watched', 'healthy', (s) => condition(s, 'DriftDetected')?.status === 'False');
    expect(condition(healthy, 'DriftDetected')?.reason).toBe('Healthy');
    drifted = true;
    const breached = await e2e.waitStatus('watched', 'drift detected', (s) => condition(s, 'DriftDetected')?.status === 'True', 120_000);
    expect(condition(breached, 'DriftDetected')).toMatchObject({ reason: 'DataDrift', message: expect.stringMatching(/PSI [\d.]+ > 0\.2/) });
    // Well inside the cooldown, the breach persists and still only one Job exists.
    await new Promise((r) => setTimeout(r, 20_000));
    const jobs = JSON.parse(await e2e.cluster.kubectlOk(['get', 'jobs', '-l', 'siskin.dev/retrain-for=watched', '-o', 'json'])) as {
      items: { metadata: { name: string; labels: Record<string, string>; ownerReferences: { kind: string; name: string }[] }; spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } } }[];
    };
    expect(jobs.items).toHaveLength(1);
    const job = jobs.items[0]!;
    expect(job.metadata.labels['siskin.dev/retrain-reason']).toBe('DataDrift');
    expect(job.metadata.ownerReferences[0]).toMatchObject({ kind: 'ModelDeployment', name: 'watched' });
    expect(job.spec.template.spec.containers[0]!.env).toEqual(expect.arrayContaining([{ name: 'SISKIN_MODEL_VERSION', value: '1' }, { name: 'SISKIN_RETRAIN_REASON', value: 'DataDrift' }]));
    expect(condition(await e2e.status('watched'), 'DriftDetected')?.status).toBe('True');
    // The Job really runs (the repository image, told what to retrain and why).
    await waitFor('the retraining Job to complete', async () => ((await e2e.cluster.kubectlOk(['get', 'job', job.metadata.name, '-o', 'jsonpath={.status.succeeded}'])) === '1' ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 1_000,
    });
    expect(await e2e.cluster.kubectlOk(['logs', `job/${job.metadata.name}`])).toContain('retraining 1 for DataDrift');
  }, 300_000);

  test('accuracy decay from ground-truth labels fires with its own reason', async () => {
    await e2e.apply(
      modelDeployment('labelled', {
        model: model('labelled', '1', tabularClassifier({ seed: 7 })),
        replicas: 1,
        monitoring: { drift: { threshold: 0.2, windowSeconds: 60, intervalSeconds: 5, minAccuracy: 0.8, minLabels: 20, action: 'Alert' } },
      }),
    );
    await e2e.waitStatus('labelled', 'Ready', (s) => condition(s, 'Ready')?.status === 'True');
    const base = `http://${await e2e.serviceIP('labelled')}`;
    const t = traffic({ baseUrl: base, model: 'labelled', rps: 20 });
    const feedback = async (wrong: boolean): Promise<void> => {
      const preds = t.take().predictions;
      const labels = preds.map((p) => ({ id: p.id, label: wrong ? (p.label + 1) % 3 : p.label }));
      const res = await fetch(`${base}/v2/models/labelled/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
      expect(res.status).toBe(200);
    };
    // The same inputs throughout; first the labels agree with the model…
    await new Promise((r) => setTimeout(r, 3_000));
    await feedback(false);
    const good = await e2e.waitStatus('labelled', 'accuracy measured', (s) => s.monitoring?.measurements?.some((m) => m.metric === 'accuracy' && m.verdict === 'Pass') === true, 60_000);
    expect(condition(good, 'DriftDetected')?.status).not.toBe('True');
    // …then the world changes and the answers turn wrong.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 3_000));
      await feedback(true);
    }
    const decayed = await e2e.waitStatus('labelled', 'accuracy decay', (s) => condition(s, 'DriftDetected')?.status === 'True', 60_000);
    expect(condition(decayed, 'DriftDetected')).toMatchObject({ reason: 'AccuracyDecay', message: expect.stringMatching(/accuracy [\d.]+ < 0\.8/) });
    const events = await e2e.cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=labelled,type=Warning,reason=AccuracyDecay', '-o', 'name']);
    expect(events.trim().split('\n')).toHaveLength(1);
  }, 300_000);

  test('labels sent through the Service to four replicas are scored by the replica that made each prediction', async () => {
    await e2e.apply(modelDeployment('replicated', { model: model('replicated', '1', tabularClassifier({ seed: 11 })), replicas: 4 }));
    await e2e.waitStatus('replicated', 'Ready with 4 replicas', (s) => condition(s, 'Ready')?.status === 'True' && s.readyReplicas === 4);
    // The replicas share the key the operator made, owned by the ModelDeployment.
    const secret = JSON.parse(await e2e.cluster.kubectlOk(['get', 'secret', 'replicated-peer-key', '-o', 'json'])) as { immutable: boolean; metadata: { ownerReferences: { kind: string; name: string }[] } };
    expect(secret).toMatchObject({ immutable: true, metadata: { ownerReferences: [{ kind: 'ModelDeployment', name: 'replicated' }] } });
    const base = `http://${await e2e.serviceIP('replicated')}`;
    // A new connection per request: kube-proxy spreads them over the four pods.
    const t = traffic({ baseUrl: base, model: 'replicated', rps: 40 });
    await new Promise((r) => setTimeout(r, 10_000));
    await t.stop();
    const preds = t.take().predictions;
    expect(preds.length).toBeGreaterThanOrEqual(300);
    // The id names the replica that answered; all four did.
    const origins = new Set(preds.map((p) => p.id.slice(0, p.id.lastIndexOf('.'))));
    expect(origins.size).toBe(4);
    let scored = 0;
    for (let i = 0; i < preds.length; i += 25) {
      const labels = preds.slice(i, i + 25).map((p) => ({ id: p.id, label: p.label }));
      const res = await fetch(`${base}/v2/models/replicated/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { scored: number; correct: number; unknown: number };
      // Every label is the prediction itself: scored means compared by its owner, and right.
      expect(answer.correct).toBe(answer.scored);
      scored += answer.scored;
    }
    console.log(`feedback through the Service to 4 replicas: ${scored} of ${preds.length} labels scored (${((100 * scored) / preds.length).toFixed(1)} %), predictions from ${origins.size} replicas`);
    expect(scored / preds.length).toBeGreaterThanOrEqual(0.99);
    await e2e.cluster.kubectlOk(['delete', 'modeldeployment', 'replicated', '--wait=false']);
  }, 300_000);

  test('the autoscaler follows load up within the stabilization window and back down to its minimum', async () => {
    await e2e.apply(
      modelDeployment('elastic', {
        model: model('elastic', '1', tabularClassifier({ seed: 7 })),
        autoscaling: { minReplicas: 1, maxReplicas: 3, targetRequestsPerSecond: 5, scaleUpStabilizationSeconds: 0, scaleDownStabilizationSeconds: 20 },
      }),
    );
    await e2e.waitStatus('elastic', 'Ready', (s) => condition(s, 'Ready')?.status === 'True');
    const t = traffic({ baseUrl: `http://${await e2e.serviceIP('elastic')}`, model: 'elastic', rps: 25 });
    const up = await e2e.waitStatus('elastic', 'scaled up', (s) => s.autoscaling?.desiredReplicas === 3 && s.readyReplicas === 3, 120_000);
    expect(up.autoscaling?.reason).toMatch(/req\/s/);
    await t.stop();
    const down = await e2e.waitStatus('elastic', 'scaled down', (s) => s.autoscaling?.desiredReplicas === 1 && s.readyReplicas === 1, 180_000);
    expect(down.autoscaling?.desiredReplicas).toBe(1);
    const scaled = await e2e.cluster.kubectlOk(['get', 'events', '--field-selector', 'involvedObject.name=elastic,reason=Scaled', '-o', 'jsonpath={.items[*].message}']);
    expect(scaled).toMatch(/scaled from [12] to 3/);
    // Down from 3 to its minimum: in one step, or through 2 when the request rate decays
    // across the stabilization window (Prometheus' rate() falls gradually after the load stops).
    expect(scaled).toMatch(/scaled from 3 to [12]/);
    expect(scaled).toMatch(/scaled from [23] to 1/);
  }, 300_000);

  test('scale to zero: an idle model goes to zero; concurrent first requests through its Service and an HTTPRoute are held, none lost, and answered; a rollout at zero proceeds', async () => {
    // The platform team's route to the model's stable Service: it keeps working at zero.
    const gw = await gatewayWith('sleepy', [{ matches: [{ path: { type: 'PathPrefix', value: '/v2/models/sleepy' } }], backendRefs: [{ name: 'sleepy-stable', port: 80 }] }]);
    const idle = { minReplicas: 0, maxReplicas: 2, targetRequestsPerSecond: 50, scaleToZeroAfterSeconds: 10 };
    const steps = [{ setWeight: 50 }, { pause: {} }];
    await e2e.apply(modelDeployment('sleepy', { model: model('sleepy', '1', tabularClassifier({ seed: 7 })), autoscaling: idle, rollout: { steps } }));
    await e2e.waitStatus('sleepy', 'Ready with a pod', (s) => condition(s, 'Ready')?.status === 'True' && s.readyReplicas === 1);
    const serviceUrl = `http://${await e2e.serviceIP('sleepy')}/v2/models/sleepy/infer`;
    const routeUrl = `${gw.url}/v2/models/sleepy/infer`;
    const infer = async (url: string, row: number[]): Promise<{ status: number; label?: number; ms: number }> => {
      const t0 = performance.now();
      const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }] }), signal: AbortSignal.timeout(120_000) });
      const body = (await r.json().catch(() => ({}))) as { outputs?: { name: string; data: number[] }[] };
      return { status: r.status, ms: performance.now() - t0, ...(r.status === 200 ? { label: body.outputs?.find((o) => o.name === 'label')?.data[0] } : {}) };
    };
    const rows = Array.from({ length: 16 }, (_, i) => irisRows(i)[0]!);
    // The right answers, from the model while it is up (through both paths).
    // kube-proxy and Traefik each take a moment to learn a new Service.
    const serves = async (url: string): Promise<boolean> => (await infer(url, rows[0]!).catch(() => ({ status: 0 }))).status === 200;
    await waitFor('the Service and the route to serve', async () => ((await serves(serviceUrl)) && (await serves(routeUrl)) ? true : undefined), { timeoutMs: 60_000, intervalMs: 500 });
    const expected = await Promise.all(rows.map(async (row) => (await infer(serviceUrl, row)).label));

    const zero = await e2e.waitStatus('sleepy', 'scaled to zero', (s) => s.phase === 'ScaledToZero', 120_000);
    expect(condition(zero, 'Ready')).toMatchObject({ status: 'True', reason: 'ScaledToZero' });
    await waitFor('its pods gone', async () => ((await e2e.cluster.kubectlOk(['get', 'pods', '-l', 'siskin.dev/model-deployment=sleepy', '-o', 'name'])).trim() === '' ? true : undefined), { timeoutMs: 60_000 });
    expect(await e2e.cluster.kubectlOk(['get', 'md', 'sleepy', '--no-headers'])).toMatch(/^sleepy\s+1\s+0\s+ScaledToZero\s+0\s/);

    // Concurrent first requests at zero, half through the Service, half through the HTTPRoute.
    const answers = await Promise.all(rows.map((row, i) => infer(i % 2 === 0 ? serviceUrl : routeUrl, row).catch((err: Error) => ({ status: 0, ms: 0, error: err.message }))));
    const answered = answers.filter((a, i) => a.status === 200 && 'label' in a && a.label === expected[i]).length;
    const lost = answers.length - answered;
    const ms = answers.map((a) => a.ms).sort((a, b) => a - b);
    console.log(`scale to zero: cold start (first request at zero → answer) ${(ms[0]! / 1000).toFixed(2)} s first, ${(ms[ms.length - 1]! / 1000).toFixed(2)} s last; ${answers.length} concurrent requests held, ${answered} answered correctly, ${lost} lost`);
    if (lost > 0) console.log(`lost answers: ${JSON.stringify(answers)}\noperator log:\n${e2e.operatorLog().slice(-6000)}`);
    expect(answers.map((a) => a.status)).toEqual(rows.map(() => 200));
    expect(lost).toBe(0);
    // What an SRE sees in Prometheus: every held request forwarded, none refused.
    const activator = (outcomes: string): Promise<number> =>
      e2e.prom.query(`sum(siskin_activator_requests_total{namespace="default",name="sleepy",outcome=~"${outcomes}"})`).then((r) => r[0]?.value ?? -1);
    await waitFor('the forwarded requests scraped', async () => ((await activator('forwarded')) >= rows.length ? true : undefined), { timeoutMs: 60_000 });
    expect(await activator(ACTIVATOR_FAILED_OUTCOMES.join('|'))).toBe(0);
    const awake = await e2e.waitStatus('sleepy', 'Active again', (s) => s.activation?.state === 'Active' && s.readyReplicas === 1);
    expect(awake.activation?.reason).toBe('woke up: a request arrived');
    // The Services are back on the pods, and the activator's slices gone.
    await waitFor('the activator slices gone', async () => ((await e2e.cluster.kubectlOk(['get', 'endpointslices', '-l', 'endpointslice.kubernetes.io/managed-by=siskin.dev', '-o', 'name'])).trim() === '' ? true : undefined), { timeoutMs: 60_000 });
    expect((await infer(routeUrl, rows[1]!)).status).toBe(200);

    // A rollout started while at zero wakes the stable revision and proceeds.
    await e2e.waitStatus('sleepy', 'scaled to zero again', (s) => s.phase === 'ScaledToZero', 120_000);
    await e2e.apply(modelDeployment('sleepy', { model: model('sleepy', '2', tabularClassifier({ seed: 7 })), autoscaling: idle, rollout: { steps } }));
    const rolling = await e2e.waitStatus('sleepy', 'the rollout at weight 50 with both revisions ready', (s) => s.canary?.version === '2' && s.canaryWeight === 50 && (s.readyReplicas ?? 0) >= 2);
    expect(rolling.phase).toBe('Progressing');
    expect(rolling.activation).toMatchObject({ state: 'Active', reason: 'woke up: a rollout started' });
    await e2e.cluster.kubectlOk(['annotate', '--overwrite', 'md/sleepy', `siskin.dev/command=promote-full:${Date.now()}`]);
    await e2e.waitStatus('sleepy', 'promoted', (s) => s.stable?.version === '2' && !s.canary && condition(s, 'Ready')?.status === 'True');
    // sleepy stays: the next test evaluates the scale-to-zero queries on its series.
  }, 600_000);

  test('every alert and dashboard query returns series for the models that took traffic here', async () => {
    const models = ['routed', 'watched', 'labelled', 'elastic', 'sleepy'];
    // Alerts fire on thresholds; what must exist is the series under the comparison.
    const unthresholded = (expr: string): string => expr.replace(/\s(==|!=|>=|<=|>|<)\s+-?[\d.]+/g, '');
    const empty: string[] = [];
    const seen = new Map<string, boolean>();
    for (const model of models) {
      for (const q of allQueries({ namespace: 'default', model })) {
        if (seen.get(q.origin)) continue;
        const expr = unthresholded(q.expr);
        const series = await e2e.prom.query(expr).catch((err: Error) => {
          throw new Error(`${q.origin}: ${err.message}`, { cause: err });
        });
        seen.set(q.origin, series.length > 0);
      }
    }
    for (const [origin, ok] of seen) if (!ok) empty.push(origin);
    expect(empty).toEqual([]);
    expect(seen.size).toBeGreaterThan(20);
  }, 300_000);
});
