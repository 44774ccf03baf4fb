// The serving runtime abused for a long while, as one seeded scenario: its own process at its
// defaults (what a user runs), valid JSON traffic at saturation for the whole soak, hostile
// requests (malformed inference requests, raw bytes no HTTP parser may accept, requests
// abandoned by a reset) at seeded moments throughout, and waves of slow connections that
// trickle their headers or bodies a byte at a time. Invariants: the process never exits, no
// answer is a 5xx other than a 503 shed, valid answers stay correct, hostile ones never 5xx,
// every slow connection is closed by the server's timeouts with a 408, valid traffic keeps
// flowing through a wave, RSS is flat after warm-up (in a soak long enough to reach steady
// state: RSS_JUDGED_AFTER_MS), and SIGTERM still drains and exits 0.
import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SERVING_PROCESS_METRICS_PREFIX } from '../../contract/metrics.ts';
import { SERVING_DEFAULTS, servingEnvVars } from '../../contract/servingEnv.ts';
import { makeTempDir, startProcess } from '../cluster/process.ts';
import { freePort } from '../cluster/net.ts';
import { hostileBytes, hostileRequest, openSlow, sendBytes, trickle, VALID_TWO_INPUTS_ANSWER, validTwoInputs } from '../fixtures/hostile.ts';
import type { SlowClient } from '../fixtures/hostile.ts';
import { metricMiB } from '../fixtures/metricsText.ts';
import { writeFixture } from '../fixtures/onnxModels.ts';
import { percentile, rng, sleep } from './world.ts';

const MAIN = fileURLToPath(new URL('../../serving/main.ts', import.meta.url));
/** Node checks its timeouts on an interval and a client sees the close on its next turn. */
const LATENESS_MS = 3_000;
/**
 * RSS is judged flat only over a soak at least this long after warm-up. At saturation the
 * process climbs for its first ~10 minutes (the quality stores filling, the first wave's
 * connection buffers) and holds from then on (RELIABILITY.md); a shorter soak, as in CI,
 * ends inside that climb and would judge it, not a leak.
 */
const RSS_JUDGED_AFTER_MS = 10 * 60_000;
/** A slow body client declares a pooled size it never sends. */
const DECLARED_BODY = 4 * 1024 ** 2;

export interface ServingAbuseOptions {
  seed: number;
  /** Hostile requests spread over the soak (a fifth of them raw bytes). */
  hostile: number;
  /** Slow connections per wave, half trickling headers, half bodies. */
  slow: number;
  waves: number;
  soakMs: number;
  /** RSS before this is warm-up: JIT, pools and the quality stores filling to their bounds. */
  warmupMs: number;
  connections: number;
}

export interface ServingAbuseReport {
  seed: number;
  soakSeconds: number;
  valid: { sent: number; ok: number; shed: number; otherStatus: number; networkErrors: number; checked: number; wrong: number };
  hostile: { sent: number; statuses: Record<string, number>; closedWithoutAnswer: number; abandoned: number };
  slow: { opened: number; answered408: number; lifetimeMs: { headers: number[]; body: number[] }; validPerSecBefore: number[]; validPerSecDuring: number[]; p50BeforeMs: number[]; p50DuringMs: number[] };
  crashes: number;
  server5xx: number;
  /** Per minute: valid req/s, and the highest RSS, main-thread JS heap and Buffer memory sampled. */
  minutes: { reqPerSec: number; rssMaxMiB: number; heapMaxMiB: number; externalMaxMiB: number }[];
  rssAfterWarmupMiB: { first: number; max: number; last: number; slopeMiBPerMin: number };
  /** Whether the soak was long enough for RSS flatness to be an invariant (RSS_JUDGED_AFTER_MS). */
  rssJudged: boolean;
  exitCode: number | null;
  invariantsChecked: number;
  violations: string[];
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
  return Number(line?.split(/\s+/)[1]) / 1024;
}

async function metricsText(base: string): Promise<string> {
  return (await fetch(`${base}/metrics`)).text();
}

/** A process gauge of the server's main thread, in MiB (the JS heap, or memory outside it held by Buffers). */
function gaugeMiB(text: string, name: 'nodejs_heap_size_used_bytes' | 'nodejs_external_memory_bytes'): number {
  return metricMiB(text, `${SERVING_PROCESS_METRICS_PREFIX}${name}`);
}

/** Server-side count of answers with a 5xx code other than 503. */
function server5xx(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/^siskin_requests_total\{[^}]*code="(5\d\d)"[^}]*\} (\S+)$/gm)) if (m[1] !== '503') n += Number(m[2]);
  return n;
}

/** Least-squares slope of (t minutes, v) points. */
function slope(points: { t: number; v: number }[]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export async function servingAbuse(o: ServingAbuseOptions): Promise<ServingAbuseReport> {
  const rnd = rng(o.seed);
  const dir = makeTempDir('siskin-chaos-serving-');
  const violations: string[] = [];
  let invariantsChecked = 0;
  const check = (ok: boolean, what: string): void => {
    invariantsChecked++;
    if (!ok) violations.push(what);
  };
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH ?? '' };
  for (const v of servingEnvVars({ modelName: 'tabular', modelUri: pathToFileURL(writeFixture(dir.path, 'two-inputs.onnx')).href, host: '127.0.0.1', port })) env[v.name] = v.value;
  const server = startProcess({ name: 'serving', command: process.execPath, args: [MAIN], logFile: `${dir.path}/serving.log`, env });
  let crashes = 0;
  let stopping = false;
  void server.exited.then(() => {
    if (!stopping) crashes++;
  });
  const body = JSON.stringify(validTwoInputs());
  const infer = `${base}/v2/models/tabular/infer`;
  const headers = { 'content-type': 'application/json' };
  const report = {
    valid: { sent: 0, ok: 0, shed: 0, otherStatus: 0, networkErrors: 0, checked: 0, wrong: 0 },
    hostile: { sent: 0, statuses: {} as Record<string, number>, closedWithoutAnswer: 0, abandoned: 0 },
    slow: { opened: 0, answered408: 0, lifetimeMs: { headers: [] as number[], body: [] as number[] }, validPerSecBefore: [] as number[], validPerSecDuring: [] as number[], p50BeforeMs: [] as number[], p50DuringMs: [] as number[] },
  };
  const slowClients: SlowClient[] = [];
  let trickler: NodeJS.Timeout | undefined;
  try {
    for (let end = Date.now() + 60_000; ; await sleep(100)) {
      if (!server.running()) throw new Error(`the serving process exited before it was ready:\n${server.logTail()}`);
      if (Date.now() > end) throw new Error(`the serving process was not ready within 60 s:\n${server.logTail()}`);
      if ((await fetch(`${base}/v2/health/ready`).catch(() => undefined))?.status === 200) break;
    }
    const t0 = performance.now();
    const at = (): number => performance.now() - t0;
    // Valid traffic: per second, answers and latencies (ms); 5xx other than 503 are violations.
    const perSecond: { n: number; lat: number[] }[] = [];
    const load = autocannon({ url: infer, method: 'POST', headers, body, connections: o.connections, pipelining: 1, duration: o.soakMs / 1000 }, () => undefined);
    const loadDone = new Promise<void>((resolve) => load.on('done', () => resolve()));
    load.on('response', (_c, status, _b, ms) => {
      report.valid.sent++;
      if (status === 200) {
        report.valid.ok++;
        const s = (perSecond[Math.floor(at() / 1000)] ??= { n: 0, lat: [] });
        s.n++;
        if (s.lat.length < 5_000) s.lat.push(ms);
      } else if (status === 503) report.valid.shed++;
      else report.valid.otherStatus++;
    });
    load.on('reqError', () => report.valid.networkErrors++);

    // Correctness of valid answers, sampled alongside the load.
    const verifier = (async () => {
      while (at() < o.soakMs) {
        const r = await fetch(infer, { method: 'POST', headers, body }).catch(() => undefined);
        if (r !== undefined && r.status === 200) {
          report.valid.checked++;
          const data = ((await r.json()) as { outputs: { data: number[] }[] }).outputs[0]?.data;
          if (JSON.stringify(data) !== JSON.stringify(VALID_TWO_INPUTS_ANSWER)) report.valid.wrong++;
        }
        await sleep(250);
      }
    })();

    // Hostile requests at seeded moments over the whole soak.
    const hostile = (async () => {
      for (let i = 0; i < o.hostile; i++) {
        const due = (o.soakMs * (i + rnd())) / o.hostile;
        if (due > at()) await sleep(due - at());
        report.hostile.sent++;
        let status: number | undefined;
        if (rnd() < 0.2) {
          const raw = hostileBytes(rnd);
          status = await sendBytes(port, raw);
          if (raw.resetAfter) {
            report.hostile.abandoned++;
            continue;
          }
        } else {
          const c = hostileRequest(rnd);
          const r = await fetch(`${base}${c.url}`, { method: 'POST', headers: c.headers, body: c.payload }).catch(() => undefined);
          status = r?.status;
          await r?.arrayBuffer().catch(() => undefined);
        }
        if (status === undefined) report.hostile.closedWithoutAnswer++;
        else report.hostile.statuses[String(status)] = (report.hostile.statuses[String(status)] ?? 0) + 1;
      }
    })();

    // Waves of slow connections at seeded moments after warm-up, each left to the server's timeouts.
    const waveRoom = Math.max(1, o.soakMs - o.warmupMs - SERVING_DEFAULTS.requestTimeoutMs - LATENESS_MS - 10_000);
    const waveStarts = Array.from({ length: o.waves }, (_, i) => o.warmupMs + (waveRoom * (i + rnd())) / o.waves).sort((a, b) => a - b);
    trickler = setInterval(() => trickle(slowClients), 500);
    const waves = (async () => {
      for (const start of waveStarts) {
        if (start > at()) await sleep(start - at());
        const wave: SlowClient[] = [];
        for (let i = 0; i < o.slow; i += 100) {
          wave.push(...(await Promise.all(Array.from({ length: Math.min(100, o.slow - i) }, (_, j) => openSlow(port, (i + j) % 2 === 0 ? 'headers' : 'body', DECLARED_BODY)))));
        }
        slowClients.push(...wave);
        report.slow.opened += wave.length;
        const opened = at();
        const deadline = SERVING_DEFAULTS.requestTimeoutMs + LATENESS_MS;
        while (wave.some((c) => c.closed === undefined) && at() - opened < deadline + 2_000) await sleep(200);
        // Valid traffic in the 10 s before the wave and in its first 10 s (all of it held open).
        const secs = (from: number): { n: number; lat: number[] }[] => perSecond.slice(Math.floor(from / 1000), Math.floor(from / 1000) + 10).filter((s) => s !== undefined);
        const rate = (ss: { n: number }[]): number => ss.reduce((s, x) => s + x.n, 0) / Math.max(1, ss.length);
        const before = secs(start - 10_000);
        const during = secs(opened);
        report.slow.validPerSecBefore.push(Math.round(rate(before)));
        report.slow.validPerSecDuring.push(Math.round(rate(during)));
        report.slow.p50BeforeMs.push(percentile(before.flatMap((s) => s.lat), 50) ?? Number.NaN);
        report.slow.p50DuringMs.push(percentile(during.flatMap((s) => s.lat), 50) ?? Number.NaN);
        check(rate(during) >= 0.25 * rate(before), `slow wave at ${(start / 1000).toFixed(0)} s: valid traffic fell to ${rate(during).toFixed(0)} req/s from ${rate(before).toFixed(0)}`);
        for (const c of wave) {
          const timeout = c.kind === 'headers' ? SERVING_DEFAULTS.headersTimeoutMs : SERVING_DEFAULTS.requestTimeoutMs;
          const lived = (c.closed ?? Number.POSITIVE_INFINITY) - c.opened;
          report.slow.lifetimeMs[c.kind].push(lived);
          if (c.answer.startsWith('HTTP/1.1 408')) report.slow.answered408++;
          check(lived >= timeout - 50 && lived < timeout + LATENESS_MS, `a slow ${c.kind} connection lived ${lived.toFixed(0)} ms (its timeout: ${timeout} ms)`);
          check(c.answer.startsWith('HTTP/1.1 408'), `a slow ${c.kind} connection was answered ${JSON.stringify(c.answer.slice(0, 40))}, not 408`);
          c.socket.destroy();
        }
      }
    })();

    // RSS every 10 s, JS heap alongside; per minute the highest of each and the req/s.
    const samples: { t: number; rss: number; heap: number; external: number }[] = [];
    while (at() < o.soakMs && server.running()) {
      const text = await metricsText(base).catch(() => '');
      samples.push({ t: at(), rss: rssMiB(server.pid), heap: gaugeMiB(text, 'nodejs_heap_size_used_bytes'), external: gaugeMiB(text, 'nodejs_external_memory_bytes') });
      await sleep(Math.min(10_000, Math.max(0, o.soakMs - at())));
    }
    await Promise.all([loadDone, verifier, hostile, waves]);
    clearInterval(trickler);
    const minutes = Array.from({ length: Math.ceil(o.soakMs / 60_000) }, (_, m) => {
      const secs = perSecond.slice(m * 60, (m + 1) * 60);
      const mine = samples.filter((s) => Math.floor(s.t / 60_000) === m);
      return { reqPerSec: Math.round(secs.reduce((s, x) => s + (x?.n ?? 0), 0) / Math.max(1, Math.min(60, o.soakMs / 1000 - m * 60))), rssMaxMiB: Math.round(Math.max(...mine.map((s) => s.rss))), heapMaxMiB: Math.round(Math.max(...mine.map((s) => s.heap))), externalMaxMiB: Math.round(Math.max(...mine.map((s) => s.external))) };
    });
    const warm = samples.filter((s) => s.t >= o.warmupMs);
    const half = warm.filter((s) => s.t < o.warmupMs + (o.soakMs - o.warmupMs) / 2);
    const late = warm.filter((s) => !half.includes(s));
    const rssAfterWarmupMiB = {
      first: Math.round(warm[0]?.rss ?? Number.NaN),
      max: Math.round(Math.max(...warm.map((s) => s.rss))),
      last: Math.round(warm.at(-1)?.rss ?? Number.NaN),
      slopeMiBPerMin: Number(slope(warm.map((s) => ({ t: s.t / 60_000, v: s.rss }))).toFixed(2)),
    };

    const text = await metricsText(base).catch(() => '');
    const fivexx = server5xx(text);
    check(crashes === 0 && server.running(), `the serving process exited during the soak:\n${server.logTail()}`);
    check(report.valid.otherStatus === 0, `${report.valid.otherStatus} valid requests were answered neither 200 nor 503`);
    check(report.valid.networkErrors === 0, `${report.valid.networkErrors} valid requests failed on the network`);
    check(report.valid.ok > 0 && report.valid.wrong === 0, `${report.valid.wrong} of ${report.valid.checked} checked valid answers were wrong`);
    check(fivexx === 0, `the server counted ${fivexx} answers 5xx other than 503`);
    // A mutation may leave a request valid (an empty parameters object): 2xx is fine, a 5xx never.
    const bad = Object.entries(report.hostile.statuses).filter(([s]) => s.startsWith('5') && s !== '503');
    check(bad.length === 0, `hostile requests answered ${bad.map(([s, n]) => `${n}× ${s}`).join(', ')}`);
    check(report.hostile.sent === o.hostile, `${report.hostile.sent} of ${o.hostile} hostile requests were sent`);
    const maxHalf = Math.max(...half.map((s) => s.rss));
    const maxLate = Math.max(...late.map((s) => s.rss));
    const rssJudged = o.soakMs - o.warmupMs >= RSS_JUDGED_AFTER_MS;
    if (rssJudged) check(late.length > 0 && maxLate <= maxHalf * 1.1 + 16, `RSS grew after warm-up: max ${maxHalf.toFixed(0)} MiB in the first half, ${maxLate.toFixed(0)} MiB in the second`);
    const ready = await fetch(`${base}/v2/health/ready`).catch(() => undefined);
    check(ready?.status === 200, `not ready after the soak (${ready?.status ?? 'no answer'})`);
    stopping = true;
    await server.stop(SERVING_DEFAULTS.shutdownTimeoutMs + 5_000);
    const { code } = await server.exited;
    check(code === 0, `SIGTERM after the soak: exit code ${code}`);
    return { seed: o.seed, soakSeconds: o.soakMs / 1000, ...report, crashes, server5xx: fivexx, minutes, rssAfterWarmupMiB, rssJudged, exitCode: code, invariantsChecked, violations };
  } finally {
    clearInterval(trickler);
    for (const c of slowClients) c.socket.destroy();
    stopping = true;
    await server.stop(1_000);
    dir.remove();
  }
}
