// The PromQL each built-in metric reads, spelled out. The integration suite
// (test/integration/analysis/prometheus.test.ts) runs the same queries on a real Prometheus.
import { describe, expect, test } from '@jest/globals';
import type { MetricSpec } from './evaluate.ts';
import { escapeLabelValue, idleRequestsQuery, metricQueries, stableHealthQueries, windowCount, type QueryContext } from './queries.ts';

const ctx: QueryContext = { namespace: 'ml', model: 'iris', canaryRevision: 'c2', stableRevision: 's1', windowSeconds: 60 };

const INFER = 'route=~"/v2/models/:name/infer|/v2/models/:name/versions/:version/infer"';
const sel = (name: string, revision: string, ...extra: string[]): string => `${name}{${['namespace="ml"', 'model="iris"', `revision="${revision}"`, ...extra].join(',')}}`;
const count = (series: string): string => `(${series} unless ${series} offset 60s) or increase(${series}[60s])`;
const requests = (revision: string): string => `sum(${count(sel('siskin_requests_total', revision, INFER))})`;
const share = (num: string, den: string): string => `(sum(${count(num)}) or vector(0)) / sum(${count(den)})`;

describe('metricQueries', () => {
  test.each<[string, MetricSpec, { canary: string; stable?: string; samples: string }]>([
    [
      'LatencyQuantile: a quantile of the infer route histogram, default p99',
      { name: 'p99', kind: 'LatencyQuantile', max: 0.25 },
      { canary: `histogram_quantile(0.99, sum by (le) (${count(sel('siskin_request_duration_seconds_bucket', 'c2', INFER))}))`, samples: requests('c2') },
    ],
    [
      'LatencyQuantile with its own quantile, relative to stable',
      { name: 'p90', kind: 'LatencyQuantile', quantile: 0.9, maxRelativeToStable: 1.5 },
      {
        canary: `histogram_quantile(0.9, sum by (le) (${count(sel('siskin_request_duration_seconds_bucket', 'c2', INFER))}))`,
        stable: `histogram_quantile(0.9, sum by (le) (${count(sel('siskin_request_duration_seconds_bucket', 's1', INFER))}))`,
        samples: requests('c2'),
      },
    ],
    [
      'ErrorRate: the 5xx share of inference requests',
      { name: 'errors', kind: 'ErrorRate', max: 0.01 },
      { canary: share(sel('siskin_requests_total', 'c2', INFER, 'code=~"5.."'), sel('siskin_requests_total', 'c2', INFER)), samples: requests('c2') },
    ],
    [
      'FeatureDrift: the worst feature PSI',
      { name: 'drift', kind: 'FeatureDrift', max: 0.2 },
      { canary: `max(${sel('siskin_feature_psi', 'c2')})`, samples: requests('c2') },
    ],
    [
      "PredictionAgreement: the stable server's comparisons with the canary as shadow",
      { name: 'agree', kind: 'PredictionAgreement', min: 0.98 },
      {
        canary: share(
          sel('siskin_shadow_comparisons_total', 's1', 'shadow_revision="c2"', 'result=~"agree"'),
          sel('siskin_shadow_comparisons_total', 's1', 'shadow_revision="c2"', 'result=~"agree|disagree"'),
        ),
        samples: `sum(${count(sel('siskin_shadow_comparisons_total', 's1', 'shadow_revision="c2"', 'result=~"agree|disagree"'))})`,
      },
    ],
    [
      'Accuracy: correct over scored labels',
      { name: 'acc', kind: 'Accuracy', min: 0.8 },
      {
        canary: share(sel('siskin_feedback_correct_total', 'c2'), sel('siskin_feedback_labels_total', 'c2', 'outcome="scored"')),
        samples: `sum(${count(sel('siskin_feedback_labels_total', 'c2', 'outcome="scored"'))})`,
      },
    ],
    [
      'Custom: placeholders filled per revision',
      { name: 'mem', kind: 'Custom', query: 'max(rss{namespace="{{namespace}}",app="{{ name }}",rev="{{revision}}"})', maxRelativeToStable: 1.1 },
      { canary: 'max(rss{namespace="ml",app="iris",rev="c2"})', stable: 'max(rss{namespace="ml",app="iris",rev="s1"})', samples: requests('c2') },
    ],
  ])('%s', (_name, metric, expected) => {
    expect(metricQueries(metric, ctx)).toEqual(expected);
  });

  test('a stable query only when a bound is relative', () => {
    expect(metricQueries({ name: 'e', kind: 'ErrorRate', max: 0.1, min: 0 }, ctx).stable).toBeUndefined();
    expect(metricQueries({ name: 'e', kind: 'ErrorRate', minRelativeToStable: 0.5 }, ctx).stable).toBe(
      share(sel('siskin_requests_total', 's1', INFER, 'code=~"5.."'), sel('siskin_requests_total', 's1', INFER)),
    );
  });

  test('during a dark launch the canary is judged on the requests stable mirrored to it; stable on its live traffic', () => {
    const q = metricQueries({ name: 'e', kind: 'ErrorRate', max: 0.1, maxRelativeToStable: 2 }, { ...ctx, canaryMirrored: true });
    const mirroredToo = 'route=~"/v2/models/:name/infer|/v2/models/:name/versions/:version/infer|mirrored"';
    expect(q.canary).toBe(share(sel('siskin_requests_total', 'c2', mirroredToo, 'code=~"5.."'), sel('siskin_requests_total', 'c2', mirroredToo)));
    expect(q.samples).toBe(`sum(${windowCount(sel('siskin_requests_total', 'c2', mirroredToo), 60)})`);
    expect(q.stable).toBe(share(sel('siskin_requests_total', 's1', INFER, 'code=~"5.."'), sel('siskin_requests_total', 's1', INFER)));
    expect(metricQueries({ name: 'e', kind: 'ErrorRate', max: 0.1 }, ctx).canary).not.toContain('mirrored');
  });

  test('the stable revision agrees with itself', () => {
    expect(metricQueries({ name: 'a', kind: 'PredictionAgreement', minRelativeToStable: 0.99 }, ctx).stable).toBe('vector(1)');
  });

  test('label values are escaped, in selectors and in Custom placeholders', () => {
    const odd = { ...ctx, model: 'a"b\\c', canaryRevision: 'x\ny' };
    const q = metricQueries({ name: 'f', kind: 'FeatureDrift', max: 1 }, odd);
    expect(q.canary).toBe('max(siskin_feature_psi{namespace="ml",model="a\\"b\\\\c",revision="x\\ny"})');
    expect(metricQueries({ name: 'c', kind: 'Custom', query: 'up{m="{{name}}"}', max: 1 }, odd).canary).toBe('up{m="a\\"b\\\\c"}');
  });

  test('a Custom metric without a query is an error naming the metric', () => {
    expect(() => metricQueries({ name: 'broken', kind: 'Custom', max: 1 }, ctx)).toThrow('metric broken: a Custom metric needs a query');
  });
});

describe('escapeLabelValue', () => {
  test.each([
    ['plain', 'plain'],
    ['say "hi"', 'say \\"hi\\"'],
    ['back\\slash', 'back\\\\slash'],
    ['two\nlines', 'two\\nlines'],
  ])('%j → %j', (raw, escaped) => {
    expect(escapeLabelValue(raw)).toBe(escaped);
  });
});

describe('windowCount', () => {
  test('a series born inside the window counts whole, an older one by increase()', () => {
    expect(windowCount('x_total{a="b"}', 30)).toBe('(x_total{a="b"} unless x_total{a="b"} offset 30s) or increase(x_total{a="b"}[30s])');
  });
});

describe('stableHealthQueries', () => {
  test('every health signal of one revision', () => {
    const q = stableHealthQueries({ namespace: 'ml', model: 'iris', revision: 's1', windowSeconds: 60 });
    expect(q).toEqual({
      maxFeaturePsi: `max(${sel('siskin_feature_psi', 's1')})`,
      badInputRatio: share(sel('siskin_rejected_inputs_total', 's1'), sel('siskin_requests_total', 's1', INFER)),
      accuracy: share(sel('siskin_feedback_correct_total', 's1'), sel('siskin_feedback_labels_total', 's1', 'outcome="scored"')),
      labelledCount: `sum(${count(sel('siskin_feedback_labels_total', 's1', 'outcome="scored"'))})`,
      errorRate: share(sel('siskin_requests_total', 's1', INFER, 'code=~"5.."'), sel('siskin_requests_total', 's1', INFER)),
      requestCount: requests('s1'),
      requestRate: `sum(rate(${sel('siskin_requests_total', 's1', INFER)}[60s]))`,
      p99Latency: `histogram_quantile(0.99, sum by (le) (${count(sel('siskin_request_duration_seconds_bucket', 's1', INFER))}))`,
    });
  });
});

describe('idleRequestsQuery', () => {
  test('counts inference requests to every revision of the model, and reads 0 (not no data) only for a model Prometheus scrapes', () => {
    const q = idleRequestsQuery({ namespace: 'ml', model: 'iris', windowSeconds: 300 });
    const requests = 'siskin_requests_total{namespace="ml",model="iris",route=~"/v2/models/:name/infer|/v2/models/:name/versions/:version/infer"}';
    expect(q).toBe(`sum(${windowCount(requests, 300)}) or (0 * sum(count_over_time(siskin_model_ready{namespace="ml",model="iris"}[300s])))`);
    expect(q).not.toContain('revision=');
  });
});
