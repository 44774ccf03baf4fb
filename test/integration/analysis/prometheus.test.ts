// The canary analysis end to end on real series: a stable and a canary serving runtime
// (real models, real HTTP, the stable one mirroring to the canary), scraped by a real
// Prometheus, measured through PrometheusProvider with the queries the operator uses.
// Every number asserted here is one the test caused.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { evaluateRound, type MetricSpec, type Observation } from '../../../operator/analysis/evaluate.ts';
import { measure } from '../../../operator/analysis/measure.ts';
import { PrometheusProvider, type PrometheusOptions } from '../../../operator/analysis/providers/prometheus.ts';
import { stableHealthQueries, type QueryContext } from '../../../operator/analysis/queries.ts';
import { startPrometheus, waitFor, type LocalPrometheus } from '../../cluster/index.ts';
import { startServing, tempDir, type TestServer } from '../../fixtures/serving.ts';
import { MIRRORED_ROUTE } from '../../../contract/metrics.ts';

const NS = 'ns1';
const MODEL = 'tabular';
const STABLE = 'stable-r1';
const CANARY = 'canary-r2';

// Four features in four equal reference bins: inputs spread like `matching` have PSI 0.
const edges = [-0.5, 0, 0.5];
const profile = { features: [0, 1, 2, 3].map((i) => ({ name: `f${i}`, input: 'input', index: i, edges, expected: [0.25, 0.25, 0.25, 0.25] })) };
const matching = [-1, -0.25, 0.25, 1].map((v) => [v, v, v, v]);

// Raw totals, to wait until Prometheus has scraped what a phase sent.
const canaryTotal = `sum(siskin_requests_total{namespace="${NS}",model="${MODEL}",revision="${CANARY}",route="/v2/models/:name/infer"})`;
// Mirrored copies of stable's requests are recorded apart: they are not the canary's users' traffic.
const canaryMirrored = `sum(siskin_requests_total{namespace="${NS}",model="${MODEL}",revision="${CANARY}",route="${MIRRORED_ROUTE}"})`;
const comparedTotal = `sum(siskin_shadow_comparisons_total{namespace="${NS}",model="${MODEL}",revision="${STABLE}",shadow_revision="${CANARY}",result=~"agree|disagree"})`;

const METRICS: MetricSpec[] = [
  { name: 'latency', kind: 'LatencyQuantile', max: 5, maxRelativeToStable: 1000 },
  { name: 'errors', kind: 'ErrorRate', max: 0.05 },
  { name: 'drift', kind: 'FeatureDrift', max: 0.2 },
  { name: 'agreement', kind: 'PredictionAgreement', min: 0.99, minSamples: 100 },
  { name: 'accuracy', kind: 'Accuracy', min: 0.5, minSamples: 10 },
  { name: 'ready', kind: 'Custom', query: 'sum(siskin_model_ready{namespace="{{namespace}}",model="{{name}}",revision="{{revision}}"})', min: 1, minRelativeToStable: 1 },
];

async function listen(server: TestServer): Promise<string> {
  await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
  return `127.0.0.1:${(server.serving.app.server.address() as AddressInfo).port}`;
}

async function infer(target: string, rows: number[][]): Promise<{ status: number; labels?: number[]; feedbackId?: string }> {
  const body = { inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, rows[0]!.length], data: rows.flat() }] };
  const res = await fetch(`http://${target}/v2/models/${MODEL}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await res.json()) as { outputs?: { name: string; data: number[] }[]; parameters?: { feedback_id?: string } };
  const labels = json.outputs?.find((o) => o.name === 'label')?.data;
  const feedbackId = json.parameters?.feedback_id;
  return { status: res.status, ...(labels === undefined ? {} : { labels }), ...(feedbackId === undefined ? {} : { feedbackId }) };
}

function byMetric(observations: Observation[]): Record<string, Observation> {
  return Object.fromEntries(observations.map((o) => [o.metric, o]));
}

describe('canary analysis on a real Prometheus', () => {
  const tmp = tempDir('siskin-analysis-');
  let stable: TestServer | undefined;
  let canary: TestServer | undefined;
  let prom: LocalPrometheus | undefined;
  let provider: PrometheusProvider;
  let canaryTarget = '';
  let stableTarget = '';
  // What phase one sent, counted from the answers.
  const sent = { canaryRequests: 0, canary5xx: 0, canary400: 0, comparedRows: 0 };
  // When Prometheus had scraped all of phase one: every series it created is born by then.
  let phaseOneScraped = 0;

  const ctx = (windowSeconds: number): QueryContext => ({ namespace: NS, model: MODEL, canaryRevision: CANARY, stableRevision: STABLE, windowSeconds });

  beforeAll(async () => {
    const profilePath = join(tmp.dir, 'profile.json');
    writeFileSync(profilePath, JSON.stringify(profile));
    canary = await startServing('classifier.onnx', {
      SISKIN_MODEL_REVISION: CANARY,
      SISKIN_REFERENCE_PROFILE: profilePath,
      // A breaker that opens after ten bad requests gives the canary real 503s.
      SISKIN_BREAKER_ENABLED: 'true',
      SISKIN_BREAKER_MIN_REQUESTS: '10',
      SISKIN_BREAKER_THRESHOLD: '0.5',
    });
    canaryTarget = await listen(canary);
    const routing = join(tmp.dir, 'routing.yaml');
    writeFileSync(routing, JSON.stringify({ shadow: { url: `http://${canaryTarget}`, sampleRate: 1, revision: CANARY } }));
    stable = await startServing('classifier.onnx', { SISKIN_MODEL_REVISION: STABLE, SISKIN_REFERENCE_PROFILE: profilePath, SISKIN_ROUTING_FILE: routing });
    stableTarget = await listen(stable);
    prom = await startPrometheus({
      scrapeInterval: '1s',
      // The namespace label kubernetes_sd relabelling would add in a cluster.
      scrapeConfigs: [{ job_name: 'siskin', static_configs: [{ targets: [stableTarget, canaryTarget], labels: { namespace: NS } }] }],
    });
    provider = new PrometheusProvider({ url: prom.url });
    // Prometheus applies new targets every 5 s: traffic before the first scrape would make
    // the phases' timing (and the series' birth) later than the test thinks.
    await waitFor('both servers scraped', async () => ((await provider.query('sum(up{job="siskin"})')) === 2 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
  });

  afterAll(async () => {
    // Each step on its own: one failing must not leave the others running.
    await Promise.allSettled([prom?.stop(), stable?.close(), canary?.close()]);
    tmp.remove();
  });

  test('a fresh canary: every built-in metric reads exactly what was sent', async () => {
    expect(await provider.isOnline()).toBe(true);
    // Stable traffic, every request mirrored to the canary (identical model: all agree).
    for (let i = 0; i < 30; i++) expect((await infer(stableTarget, matching)).status).toBe(200);
    await stable!.serving.ctx.shadow!.idle();
    sent.comparedRows += 30 * matching.length;
    // Canary traffic with ids, feature f0 far off its reference (drift), then labelled:
    // 15 requests right, 5 wrong, four rows each.
    const labels: { id: string; label: number[] }[] = [];
    for (let i = 0; i < 20; i++) {
      const r = await infer(canaryTarget, matching.map((row) => [5, ...row.slice(1)]));
      expect(r.status).toBe(200);
      labels.push({ id: r.feedbackId!, label: r.labels!.map((l) => (i < 15 ? l : (l + 1) % 3)) });
    }
    sent.canaryRequests += 20;
    const fb = await fetch(`http://${canaryTarget}/v2/models/${MODEL}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
    expect(await fb.json()).toMatchObject({ scored: 80, correct: 60 });
    // Ten inputs of the wrong shape (400) open the breaker; good requests then get 503
    // until the bad share falls back.
    for (let i = 0; i < 10; i++) {
      const r = await infer(canaryTarget, [[1, 2, 3]]);
      if (r.status === 400) sent.canary400++;
    }
    for (let i = 0; i < 10; i++) {
      const r = await infer(canaryTarget, [matching[0]!]);
      if (r.status >= 500) sent.canary5xx++;
    }
    sent.canaryRequests += 20;
    expect(sent).toMatchObject({ canaryRequests: 40, canary400: 10, canary5xx: 7, comparedRows: 120 });

    const health = stableHealthQueries({ namespace: NS, model: MODEL, revision: CANARY, windowSeconds: 60 });
    await waitFor('the last canary requests scraped', async () => ((await provider.query(canaryTotal)) === 40 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('the mirrored requests scraped, apart', async () => ((await provider.query(canaryMirrored)) === 30 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('the shadow comparisons scraped', async () => ((await provider.query(comparedTotal)) === 120 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    phaseOneScraped = Date.now();

    const observations = byMetric(await measure(provider, METRICS, ctx(60)));
    // The canary's series were all born inside the window: counts are exact, not extrapolated.
    expect(observations.errors).toEqual({ metric: 'errors', value: 7 / 40, samples: 40 });
    expect(observations.agreement).toEqual({ metric: 'agreement', value: 1, samples: 120 });
    expect(observations.accuracy).toEqual({ metric: 'accuracy', value: 0.75, samples: 80 });
    expect(observations.ready).toEqual({ metric: 'ready', value: 1, stableValue: 1, samples: 40 });
    expect(observations.latency!.samples).toBe(40);
    expect(observations.latency!.value).toBeGreaterThan(0);
    expect(observations.latency!.value).toBeLessThan(5);
    expect(observations.latency!.stableValue).toBeGreaterThan(0);
    // The drift the server computes is what Prometheus reports.
    const text = await (await fetch(`http://${canaryTarget}/metrics`)).text();
    const psi = Math.max(...[...text.matchAll(/^siskin_feature_psi\{[^}]*\} (\S+)$/gm)].map((m) => Number(m[1])));
    expect(psi).toBeGreaterThan(0.2);
    expect(observations.drift!.value).toBeCloseTo(psi, 9);

    const round = evaluateRound(METRICS, Object.values(observations), { minSamples: 30, now: new Date().toISOString() });
    expect(round.verdict).toBe('Fail');
    expect(round.failed.map((m) => [m.metric, m.reason])).toEqual([
      ['errors', '0.175 violates <= 0.05'],
      ['drift', `${Number(psi.toPrecision(4))} violates <= 0.2`],
    ]);
    expect(round.measurements.filter((m) => m.verdict === 'Pass').map((m) => m.metric)).toEqual(['latency', 'agreement', 'accuracy', 'ready']);

    // The same series answer the health queries of a revision.
    const read = async (q: string): Promise<number | undefined> => provider.query(q);
    expect(await read(health.errorRate)).toBe(7 / 40);
    expect(await read(health.badInputRatio)).toBeCloseTo(10 / 40, 12);
    expect(await read(health.accuracy)).toBe(0.75);
    expect(await read(health.labelledCount)).toBe(80);
    expect(await read(health.maxFeaturePsi)).toBeCloseTo(psi, 9);
    expect(await read(health.p99Latency)).toBeGreaterThan(0);
    const stableHealth = stableHealthQueries({ namespace: NS, model: MODEL, revision: STABLE, windowSeconds: 60 });
    expect(await read(stableHealth.maxFeaturePsi)).toBeCloseTo(0, 6);
    expect(await read(stableHealth.errorRate)).toBe(0);
    expect(await read(stableHealth.badInputRatio)).toBe(0);
    expect(await read(stableHealth.requestCount)).toBe(30);
    // No labels were sent to the stable revision: no accuracy, never a made-up one.
    expect(await read(stableHealth.accuracy)).toBeUndefined();
  });

  test('a running canary: counts over a short window are increases, within extrapolation', async () => {
    // Phase one must be entirely before the 10 s window, and its series older than it.
    await new Promise((r) => setTimeout(r, Math.max(0, phaseOneScraped + 11_000 - Date.now())));
    // 30 stable requests (mirrored: 120 compared rows, recorded apart), 30 straight to the canary.
    for (let i = 0; i < 30; i++) expect((await infer(stableTarget, matching)).status).toBe(200);
    await stable!.serving.ctx.shadow!.idle();
    for (let i = 0; i < 30; i++) expect((await infer(canaryTarget, [matching[1]!])).status).toBe(200);
    await waitFor('the second phase scraped', async () => ((await provider.query(canaryTotal)) === 40 + 30 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });
    await waitFor('its comparisons scraped', async () => ((await provider.query(comparedTotal)) === 120 + 120 ? true : undefined), { timeoutMs: 30_000, intervalMs: 250 });

    const observations = byMetric(await measure(provider, METRICS, ctx(10)));
    // increase() extrapolates to the window's edges: about 10/9 of the true count.
    const within = (v: number | undefined, sent: number): void => {
      expect(v).toBeGreaterThanOrEqual(sent - 1);
      expect(v).toBeLessThanOrEqual(sent * 1.3);
    };
    for (const name of ['latency', 'errors', 'drift', 'ready']) within(observations[name]!.samples, 30);
    within(observations.agreement!.samples, 120);
    // Ratios of one target's series share its scrape times, so the extrapolation cancels.
    expect(observations.errors!.value).toBe(0);
    expect(observations.agreement!.value).toBe(1);
    // No labels in this window: no accuracy.
    expect(observations.accuracy).toEqual({ metric: 'accuracy', samples: 0 });
    const rate = await provider.query(stableHealthQueries({ namespace: NS, model: MODEL, revision: CANARY, windowSeconds: 10 }).requestRate);
    within(rate === undefined ? undefined : rate * 10, 30);

    const round = evaluateRound(METRICS, Object.values(observations), { minSamples: 20, now: new Date().toISOString() });
    const verdicts = Object.fromEntries(round.measurements.map((m) => [m.metric, [m.verdict, m.reason]]));
    expect(verdicts).toMatchObject({
      errors: ['Pass', undefined],
      agreement: ['Pass', undefined],
      accuracy: ['Inconclusive', '0 samples in the window, 10 needed'],
    });
  });

  test("a broken query is an Inconclusive measurement carrying Prometheus' message", async () => {
    const metrics: MetricSpec[] = [
      { name: 'typo', kind: 'Custom', query: 'sum(siskin_model_ready{namespace="{{namespace}}"}', max: 1 },
      { name: 'many', kind: 'Custom', query: 'siskin_model_ready{namespace="{{namespace}}"}', max: 1 },
      { name: 'range', kind: 'Custom', query: 'siskin_model_ready{revision="{{revision}}"}[1m]', max: 1 },
    ];
    const o = byMetric(await measure(provider, metrics, ctx(60)));
    expect(o.typo!.error).toMatch(/^Prometheus rejected the query \(bad_data\): .*parse error/);
    expect(o.many!.error).toMatch(/returned 2 series, the analysis needs one: aggregate it/);
    expect(o.range!.error).toMatch(/returned a matrix/);
    const round = evaluateRound(metrics, Object.values(o), { minSamples: 1, now: new Date().toISOString() });
    expect(round.verdict).toBe('Inconclusive');
    expect(round.measurements[0]!.reason).toMatch(/parse error/);
  });

  test('results are numbers: scalars, empty vectors, NaN and ±Inf', async () => {
    expect(await provider.query('vector(1)')).toBe(1);
    expect(await provider.query('scalar(vector(2.5))')).toBe(2.5);
    expect(await provider.query('sum(siskin_no_such_metric)')).toBeUndefined();
    expect(await provider.query('0/0')).toBeUndefined();
    expect(await provider.query('1/0')).toBe(Infinity);
    expect(await provider.query('vector(-1/0)')).toBe(-Infinity);
    await expect(provider.query('"text"')).rejects.toThrow(/returned a string/);
    await expect(new PrometheusProvider({ url: '' }).query('vector(1)')).rejects.toThrow(/no usable Prometheus address/);
  });

  test('Prometheus stopped: every metric is Inconclusive, naming the address', async () => {
    const url = prom!.url;
    await prom!.stop();
    prom = undefined;
    expect(await provider.isOnline()).toBe(false);
    const observations = await measure(provider, METRICS, ctx(60));
    expect(observations).toHaveLength(METRICS.length);
    for (const o of observations) expect(o.error).toMatch(new RegExp(`^(sample count: )?Prometheus at ${url} unreachable: .*ECONNREFUSED`));
    const round = evaluateRound(METRICS, observations, { minSamples: 50, now: new Date().toISOString() });
    expect(round.verdict).toBe('Inconclusive');
    expect(round.failed).toEqual([]);
  });
});

describe('PrometheusProvider against endpoints that are not a healthy Prometheus', () => {
  const SECRET = 'hunter2-0a9f3c';
  /** Runs handle as an HTTP server on 127.0.0.1 for the duration of use(base URL). */
  async function serve(handle: RequestListener, use: (base: string) => Promise<void>): Promise<void> {
    const server = createServer(handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      await use(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  }
  /** The error a query against base fails with. */
  async function failure(base: string, opts: Partial<PrometheusOptions> = {}): Promise<Error> {
    return new PrometheusProvider({ url: base, ...opts }).query('vector(1)').then(
      () => {
        throw new Error('expected the query to fail');
      },
      (err: unknown) => err as Error,
    );
  }

  test('a hung server times out and a proxy error page is named by status and content type', async () => {
    await serve(
      (req, res) => {
        if (req.url?.includes('hang') === true) return; // never answers
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad Gateway</body></html>');
      },
      async (base) => {
        await expect(new PrometheusProvider({ url: `${base}/hang`, timeoutMs: 300 }).query('vector(1)')).rejects.toThrow(`Prometheus at ${base}/hang did not answer within 0.3 s`);
        await expect(new PrometheusProvider({ url: `${base}/` }).query('vector(1)')).rejects.toThrow(`Prometheus at ${base} answered HTTP 502 with content type text/html, not the API's JSON`);
      },
    );
  });

  test('an answer that is not Prometheus JSON is never quoted: the page behind the address stays unread', async () => {
    await serve(
      (req, res) => {
        const page = `<html><body>admin console — api key ${SECRET}</body></html>`;
        if (req.url?.startsWith('/html/') === true) res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page);
        else if (req.url?.startsWith('/untyped/') === true) res.end(page);
        else if (req.url?.startsWith('/header/') === true) res.writeHead(200, { 'content-type': `text/${SECRET} stuff` }).end(page);
        else if (req.url?.startsWith('/badjson/') === true) res.writeHead(200, { 'content-type': 'application/json' }).end(`{"key": "${SECRET}"`);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ key: SECRET }));
      },
      async (base) => {
        const errors = [await failure(`${base}/html`), await failure(`${base}/untyped`), await failure(`${base}/header`), await failure(`${base}/badjson`), await failure(`${base}/json`)].map((e) => e.message);
        expect(errors).toEqual([
          `Prometheus at ${base}/html answered HTTP 200 with content type text/html, not the API's JSON`,
          `Prometheus at ${base}/untyped answered HTTP 200 with no content type, not the API's JSON`,
          `Prometheus at ${base}/header answered HTTP 200 with an unreadable content type, not the API's JSON`,
          `Prometheus at ${base}/badjson answered HTTP 200 with a body that is not valid JSON`,
          `Prometheus at ${base}/json answered HTTP 200 without a successful result`,
        ]);
        for (const e of errors) expect(e).not.toContain(SECRET);
      },
    );
  });

  test('a redirect is not followed: the error names its status and the target origin only', async () => {
    let reachedTarget = 0;
    await serve(
      (_, res) => {
        reachedTarget++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}');
      },
      (target) =>
        serve(
          (_, res) => res.writeHead(302, { location: `${target}/admin/keys?token=${SECRET}` }).end(),
          async (base) => {
            const err = await failure(base);
            expect(err.message).toBe(`Prometheus at ${base} answered HTTP 302, a redirect to ${target}; redirects are not followed`);
            expect(err.message).not.toContain(SECRET);
            expect(reachedTarget).toBe(0);
          },
        ),
    );
  });

  test("Prometheus's own error message is reported, shortened", async () => {
    await serve(
      (_, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: `parse error: ${'x'.repeat(100_000)}` })),
      async (base) => {
        const err = await failure(base);
        expect(err.message).toMatch(/^Prometheus rejected the query \(bad_data\): parse error: x+… — vector\(1\)$/);
        expect(err.message.length).toBeLessThan(400);
      },
    );
  });

  test('an answer that never ends is cut at 4 MiB: the read stops there and the connection is closed', async () => {
    let sent = 0;
    let closed = false;
    await serve(
      (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"status":"success","data":{"resultType":"vector","result":[');
        const chunk = Buffer.alloc(64 * 1024, ' ');
        // Writes only as fast as the client reads (backpressure), so `sent` is what it took in.
        const pump = (): void => {
          while (!closed && res.write(chunk)) sent += chunk.length;
          if (!closed) sent += chunk.length;
        };
        res.on('drain', pump);
        res.on('close', () => (closed = true));
        pump();
      },
      async (base) => {
        const err = await failure(base);
        expect(err.message).toBe(`Prometheus at ${base}: the answer is larger than 4 MiB; stopped reading there`);
        await waitFor('the server to see the connection closed', () => Promise.resolve(closed || undefined), { timeoutMs: 5_000, intervalMs: 10 });
        // The cap plus what sits in the two sockets' buffers, not a gigabyte.
        expect(sent).toBeGreaterThan(4 * 1024 * 1024);
        expect(sent).toBeLessThan(16 * 1024 * 1024);
      },
    );
  });

  test('a declared Content-Length past the cap is refused before reading', async () => {
    await serve(
      (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(2 * 1024 ** 3) });
        res.write('{"status":"success"');
      },
      async (base) => {
        await expect(failure(base)).resolves.toMatchObject({ message: `Prometheus at ${base}: the answer is 2 GiB (Content-Length), more than the 4 MiB allowed; not read` });
      },
    );
  });

  test('an answer trickling one byte a second is cut at the timeout, body included', async () => {
    const body = '{"status":"success","data":{"resultType":"scalar","result":[0,"1"]}}';
    let timer: NodeJS.Timeout | undefined;
    await serve(
      (_, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        let i = 0;
        const drip = (): void => {
          if (res.destroyed || i >= body.length) return void res.end();
          res.write(body[i++]!);
          timer = setTimeout(drip, 1_000);
        };
        drip();
      },
      async (base) => {
        const started = Date.now();
        await expect(failure(base, { timeoutMs: 1_500 })).resolves.toMatchObject({ message: `Prometheus at ${base} did not answer within 1.5 s` });
        expect(Date.now() - started).toBeLessThan(2_500);
      },
    );
    clearTimeout(timer);
  });
});
