// Metric names and labels across the process boundary: every series the operator's PromQL
// reads (canary analysis, post-promotion health, the autoscaler, shipped alerts and dashboard)
// exists on the serving runtime's real registry with every label the query selects or groups
// by — or, for the operator's own series, on the operator's registry.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { Registry } from 'prom-client';
import { METRIC_KINDS } from '../../operator/api/schema.ts';
import type { MetricSpec } from '../../operator/analysis/evaluate.ts';
import { metricQueries, stableHealthQueries } from '../../operator/analysis/queries.ts';
import { ModelDeploymentMetrics } from '../../operator/controller/metrics.ts';
import { LOAD_WINDOW_SECONDS } from '../../operator/monitoring/measureHealth.ts';
import { allQueries } from '../../tooling/observability/queries.ts';
import { OperatorMetrics } from '../../operator/runtime/metrics.ts';
import { Activator } from '../../operator/activator/activator.ts';
import { ServingMetrics } from '../../serving/metrics.ts';
import { startServing, type TestServer } from '../fixtures/serving.ts';

/** One vector selector of a query: the metric name and the labels it matches on. */
interface Selector {
  metric: string;
  matchers: { label: string; op: string; value: string }[];
}

/** One query, reduced to what it needs of the registry. */
interface QueryNeeds {
  selectors: Selector[];
  /** Labels of `by (…)` / `without (…)` clauses. */
  grouping: string[];
}

const MATCHER = /(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;

/** The selectors and grouping labels of a PromQL expression (Siskin's subset: no string literals outside matchers). */
function parsePromQL(expr: string): QueryNeeds {
  const selectors: Selector[] = [];
  for (const m of expr.matchAll(/\b(siskin_\w+)\s*(\{([^}]*)\})?/g)) {
    const matchers = [...(m[3] ?? '').matchAll(MATCHER)].map((x) => ({ label: x[1]!, op: x[2]!, value: x[3]!.replace(/\\(.)/g, '$1') }));
    selectors.push({ metric: m[1]!, matchers });
  }
  const grouping = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((l) => l.trim()).filter((l) => l !== ''));
  return { selectors, grouping };
}

/** The series names a registry exposes, with the labels each carries (histograms as _bucket/_sum/_count). */
async function exposedSeries(registry: Registry): Promise<Map<string, Set<string>>> {
  const metrics = await registry.getMetricsAsJSON();
  // Labels stamped on every series (the registry's default labels): those of unlabelled metrics' values.
  const stamped = new Set(metrics.filter((m) => labelNamesOf(registry, m.name).length === 0).flatMap((m) => m.values.flatMap((v) => Object.keys(v.labels))));
  const out = new Map<string, Set<string>>();
  for (const m of metrics) {
    const labels = new Set([...stamped, ...labelNamesOf(registry, m.name)]);
    if (m.type.toString() === 'histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else out.set(m.name, labels);
  }
  return out;
}

/** The label names a metric was registered with. */
function labelNamesOf(registry: Registry, name: string): string[] {
  return [...((registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined)?.labelNames ?? [])];
}

// `namespace` is attached by Prometheus' pod relabelling, not by either process.
const TARGET_LABELS = ['namespace'];

/** Every PromQL the operator builds against serving series, by origin. */
function operatorQueries(): { origin: string; expr: string }[] {
  const ctx = { namespace: 'ml', model: 'iris', canaryRevision: 'c2', stableRevision: 's1', windowSeconds: 60 };
  const analysis = METRIC_KINDS.filter((k) => k !== 'Custom').flatMap((kind) => {
    const metric: MetricSpec = { name: 'm', kind, max: 1, maxRelativeToStable: 2 };
    const q = metricQueries(metric, ctx);
    const parts: [string, string | undefined][] = [['canary', q.canary], ['stable', q.stable], ['samples', q.samples]];
    return parts.flatMap(([part, expr]) => (expr === undefined ? [] : [{ origin: `analysis ${kind} ${part}`, expr }]));
  });
  const healthQueries: Record<string, string> = { ...stableHealthQueries({ namespace: 'ml', model: 'iris', revision: 's1', windowSeconds: LOAD_WINDOW_SECONDS }) };
  const health = Object.entries(healthQueries).map(([name, expr]) => ({ origin: `health ${name}`, expr }));
  return [...analysis, ...health, ...allQueries()];
}

describe('metrics: operator queries → serving registry', () => {
  let serving: Map<string, Set<string>>;
  let operator: Map<string, Set<string>>;
  beforeAll(async () => {
    const metrics = new ServingMetrics('iris', 's1');
    // The prediction PSI gauge exists only with a reference profile: attach one as the server would.
    metrics.attach({ predictionPsi: () => 0 });
    serving = await exposedSeries(metrics.registry);
    const op = new OperatorMetrics();
    new ModelDeploymentMetrics(op.registry);
    // The activator runs in the leading operator and registers on its registry (setup.ts).
    new Activator({ address: '127.0.0.1', ports: { first: 9400, last: 9400 }, registry: op.registry, readyPod: () => undefined, wake: () => undefined });
    operator = await exposedSeries(op.registry);
  });

  test('the queries name serving series at all (the parser finds them)', () => {
    const names = operatorQueries().flatMap((q) => parsePromQL(q.expr).selectors.map((s) => s.metric));
    expect(names.filter((n) => serving.has(n)).length).toBeGreaterThan(20);
  });

  test.each(operatorQueries())('$origin reads only series and labels that exist', ({ expr }) => {
    const { selectors, grouping } = parsePromQL(expr);
    const problems: string[] = [];
    const usesServing = selectors.some((s) => serving.has(s.metric));
    for (const s of selectors) {
      const labels = serving.get(s.metric) ?? operator.get(s.metric);
      if (labels === undefined) {
        problems.push(`${s.metric}: no such series on the serving or the operator registry`);
        continue;
      }
      for (const m of s.matchers) if (!labels.has(m.label) && !TARGET_LABELS.includes(m.label)) problems.push(`${s.metric}: no label ${m.label}`);
    }
    // Grouping labels of a serving query must exist on each serving series it aggregates.
    if (usesServing) {
      for (const s of selectors.filter((x) => serving.has(x.metric))) {
        for (const l of grouping) if (!serving.get(s.metric)!.has(l) && !TARGET_LABELS.includes(l)) problems.push(`${s.metric}: grouped by ${l}, which it lacks`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('metrics: label values the operator selects on are the ones a real server writes', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServing('classifier.onnx');
  });
  afterAll(async () => {
    await server?.close();
  });

  test('an inference is counted under a route the analysis queries match', async () => {
    const model = server.serving.ctx.config.modelName;
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [[5.1, 3.5, 1.4, 0.2]] }] });
    for (const url of [`/v2/models/${model}/infer`, `/v2/models/${model}/versions/${server.serving.ctx.config.revision}/infer`]) {
      const res = await server.serving.app.inject({ method: 'POST', url, payload: body, headers: { 'content-type': 'application/json' } });
      expect(res.statusCode).toBe(200);
    }
    const query = stableHealthQueries({ namespace: 'ml', model, revision: 'r1', windowSeconds: 60 }).requestCount;
    const route = parsePromQL(query).selectors[0]!.matchers.find((m) => m.label === 'route')!;
    const counted = (await server.serving.ctx.metrics.registry.getMetricsAsJSON())
      .find((m) => m.name === 'siskin_requests_total')!
      .values.filter((v) => v.value > 0 && String(v.labels.code) === '200')
      .map((v) => String(v.labels.route))
      .filter((r) => new RegExp(`^(?:${route.value})$`).test(r));
    // Both routes served a request, and the analysis regex selects both series.
    expect(new Set(counted).size).toBe(2);
  });
});
