// Prometheus failing during analysis: the operator reaches Prometheus through a proxy that, for
// a window at a seeded moment, refuses connections, hangs, answers garbage or answers 5xx.
// Rollouts are in flight through each window. Invariants: no rollout whose final step had not
// begun when the fault began is promoted before it ends (a promotion needs a passing round
// after the final step started, and there is no data to pass on), none is rolled back (missing
// data is Inconclusive, never a failure), and every rollout is promoted once Prometheus is back.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { PROMETHEUS_MAX_ANSWER_BYTES } from '../../operator/analysis/providers/prometheus.ts';
import { judgedRollout, modelDeployment, rng, sleep, untilEach, type World } from './world.ts';

/** What the proxy does while faulted. */
export const FAULTS = ['down', 'hung', 'garbage', '5xx'] as const;
export type Fault = (typeof FAULTS)[number];

/** How many rollouts ride through each fault, and how long a fault lasts. */
export interface PromFaultOptions {
  seed: number;
  rollouts: number;
  faultMs: number;
}

/** What the scenario found. */
export interface PromFaultReport {
  seed: number;
  rollouts: number;
  faults: Fault[];
  invariantsChecked: number;
  violations: string[];
  /** Fault end → every rollout of that window promoted (ms). */
  toResumeMs: number[];
  /** Queries the proxy failed on purpose. */
  queriesFailed: number;
}

/** What else the proxy can answer: a valid answer as long as the operator reads (every series NaN, no data), or one that never ends. */
export type HugeFault = 'largest' | 'endless';

/** A proxy to Prometheus that can be told to fail. */
export interface FaultProxy {
  url: string;
  fault: Fault | HugeFault | undefined;
  failed: number;
  /** Bytes the proxy sent in faulted answers. */
  faultBytes: number;
  stop(): Promise<void>;
}

const SERIES = '{"metric":{"__name__":"siskin_requests_total","pod":"serving-0000000000","route":"/v2/models/m/infer"},"value":[1,"NaN"]}';

/** A vector answer of NaN series `bytes` long (as JSON), just inside the operator's read limit. */
function largestAnswer(bytes: number): string {
  const head = '{"status":"success","data":{"resultType":"vector","result":[';
  const tail = ']}}';
  const n = Math.floor((bytes - head.length - tail.length) / (SERIES.length + 1));
  return `${head}${Array.from({ length: n }, () => SERIES).join(',')}${tail}`;
}

export async function startPromProxy(upstream: string): Promise<FaultProxy> {
  const up = new URL(upstream);
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  const state: FaultProxy = { url: '', fault: undefined, failed: 0, faultBytes: 0, stop: async () => {} };
  const largest = Buffer.from(largestAnswer(PROMETHEUS_MAX_ANSWER_BYTES - 1024));
  const chunk = Buffer.from(`${Array.from({ length: 512 }, () => SERIES).join(',')},`);
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const f = state.fault;
    if (f !== undefined) state.failed++;
    if (f === 'down') return req.socket.destroy();
    if (f === 'hung') return void hung.add(res);
    if (f === 'garbage') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"');
    if (f === '5xx') return void res.writeHead(503, { 'content-type': 'text/plain' }).end('prometheus is overloaded');
    if (f === 'largest') {
      state.faultBytes += largest.length;
      return void res.writeHead(200, { 'content-type': 'application/json' }).end(largest);
    }
    if (f === 'endless') {
      // As fast as the reader takes it, until it hangs up.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"status":"success","data":{"resultType":"vector","result":[');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk)) state.faultBytes += chunk.length;
      };
      res.on('drain', pump);
      res.on('error', () => {});
      return pump();
    }
    const out = request({ host: up.hostname, port: up.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  state.stop = async () => {
    for (const r of hung) r.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return state;
}

export const md = (name: string, version: string): Record<string, unknown> => modelDeployment(name, version, { replicas: 1, rollout: judgedRollout(4) });
const FINAL_STEP = 3;

/** Runs the scenario: one window per fault kind, in seeded order. */
export async function promFaults(world: World, o: PromFaultOptions): Promise<PromFaultReport> {
  const random = rng(o.seed);
  const faults = [...FAULTS].map((f) => ({ f, k: random() })).sort((a, b) => a.k - b.k).map((x) => x.f);
  const r: PromFaultReport = { seed: o.seed, rollouts: o.rollouts, faults, invariantsChecked: 0, violations: [], toResumeMs: [], queriesFailed: 0 };
  const proxy = await startPromProxy(world.prom.url);
  try {
    const op = await world.startOperator('siskin-operator', { SISKIN_DEFAULT_PROMETHEUS_ADDRESS: proxy.url });
    await world.ready(op);
    const names = Array.from({ length: o.rollouts }, (_, i) => `p${i}`);
    await world.apply(names.map((n) => md(n, '1')));
    await untilEach(world, names, (m) => m.status?.stable?.version === '1', 120_000, 'every first version stable');
    for (const [w, fault] of faults.entries()) await throughFault(world, proxy, names, `${w + 2}`, fault, o.faultMs, random, r);
    r.queriesFailed = proxy.failed;
    return r;
  } finally {
    await proxy.stop();
  }
}

/** What a window's checks add to. */
export interface WindowTally {
  invariantsChecked: number;
  violations: string[];
  /** Fault end → every rollout of that window promoted (ms). */
  toResumeMs: number[];
}

/**
 * Rolls `names` out to `version` and puts the proxy in `fault` for `faultMs` at a seeded moment
 * 1–6 s in. Checks that no rollout whose final step had not begun is promoted during the fault,
 * none is rolled back, and every one is promoted once it ends.
 */
export async function throughFault(world: World, proxy: FaultProxy, names: readonly string[], version: string, fault: Fault | HugeFault, faultMs: number, random: () => number, r: WindowTally, deadlineMs = 120_000): Promise<void> {
  await world.apply(names.map((n) => md(n, version)));
  await sleep(1_000 + random() * 5_000);
  const before = await world.list();
  proxy.fault = fault;
  const startedAt = Date.now();
  await sleep(faultMs);
  const during = await world.list();
  proxy.fault = undefined;
  const endedAt = Date.now();
  for (const n of names) {
    const was = before.find((m) => m.metadata?.name === n);
    const now = during.find((m) => m.metadata?.name === n);
    const decision = now?.status?.history?.find((h) => h.version === version);
    r.invariantsChecked += 2;
    if (decision?.outcome === 'RolledBack') r.violations.push(`${fault}: ${n} was rolled back on missing data (${decision.reason})`);
    const wasBeforeFinal = was?.status?.canary?.version === version && (was.status.currentStepIndex ?? 0) < FINAL_STEP;
    if (wasBeforeFinal && decision?.outcome === 'Promoted' && Date.parse(decision.finishedAt) > startedAt) {
      r.violations.push(`${fault}: ${n} was promoted at ${decision.finishedAt}, during the fault (${new Date(startedAt).toISOString()}–${new Date(endedAt).toISOString()}), from step ${was.status?.currentStepIndex}`);
    }
  }
  try {
    await untilEach(world, names, (m) => m.status?.history?.some((h) => h.version === version && h.outcome === 'Promoted') === true && m.status.stable?.version === version, deadlineMs, 'every rollout promoted');
    r.toResumeMs.push(Date.now() - endedAt);
  } catch (err) {
    r.violations.push(`${fault}: ${(err as Error).message.split('\n')[0]}`);
  }
  r.invariantsChecked++;
}
