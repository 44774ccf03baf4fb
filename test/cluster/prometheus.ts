// A real Prometheus on a free loopback (or node IP) port with a generated config and a short scrape
// interval; query helpers over its HTTP API.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { findBinary } from './binaries.ts';
import { freePort, httpGet, waitFor } from './net.ts';
import { makeTempDir, startProcess, type ManagedProcess } from './process.ts';

/** One sample of an instant-query vector result. */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** A running Prometheus. */
export interface LocalPrometheus {
  url: string;
  readonly process: ManagedProcess;
  /** Stops the server, keeping its data (for outage tests); start() brings it back on the same port. */
  kill(): Promise<void>;
  /** Starts it again after kill(), on the same address and data, and waits until ready. */
  start(): Promise<void>;
  /** Runs an instant query; throws on an API error. */
  query(promql: string): Promise<PromSample[]>;
  stop(): Promise<void>;
}

/** Options: scrape configs (Prometheus YAML shape), interval, rule files. */
export interface PrometheusOptions {
  scrapeConfigs?: Record<string, unknown>[];
  /** Convenience: static targets (host:port) scraped at /metrics under job "static". */
  staticTargets?: string[];
  scrapeInterval?: string;
  ruleFiles?: string[];
  /** Parent dir for data and logs; a temp dir of its own otherwise. */
  dir?: string;
  /**
   * The address to listen on (default 127.0.0.1). Pods cannot reach the host's loopback: an
   * operator running in a pod on the real node needs the node IP (198.18.1.1).
   */
  listenAddress?: string;
}

/** Builds the prometheus.yml text. Pure. */
export function renderPrometheusConfig(opts: PrometheusOptions): string {
  const scrape = [...(opts.scrapeConfigs ?? [])];
  if (opts.staticTargets?.length) scrape.push({ job_name: 'static', static_configs: [{ targets: opts.staticTargets }] });
  const interval = opts.scrapeInterval ?? '1s';
  return YAML.stringify({
    global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
    ...(opts.ruleFiles?.length ? { rule_files: opts.ruleFiles } : {}),
    scrape_configs: scrape,
  });
}

/** Starts Prometheus and waits until /-/ready. */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<LocalPrometheus> {
  const binary = findBinary('prometheus');
  const tmp = opts.dir ? undefined : makeTempDir('prometheus');
  const dir = opts.dir ?? tmp!.path;
  const configFile = join(dir, 'prometheus.yml');
  writeFileSync(configFile, renderPrometheusConfig(opts));
  const host = opts.listenAddress ?? '127.0.0.1';
  const port = await freePort(host);
  const url = `http://${host}:${port}`;
  const launch = (): ManagedProcess =>
    startProcess({
      name: 'prometheus',
      command: binary,
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, 'prometheus-data')}`,
        `--web.listen-address=${host}:${port}`,
        '--web.enable-lifecycle',
        '--storage.tsdb.retention.time=1h',
        '--log.level=warn',
      ],
      logFile: join(dir, 'prometheus.log'),
    });
  let proc = launch();
  const stop = async (): Promise<void> => {
    await proc.stop();
    tmp?.remove();
  };
  const ready = (): Promise<unknown> =>
    waitFor(
      'prometheus /-/ready',
      async () => ((await httpGet(`${url}/-/ready`)).status === 200 ? true : undefined),
      { timeoutMs: 60_000, abort: () => (proc.running() ? undefined : `prometheus exited:\n${proc.logTail()}`) },
    );
  try {
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }
  const query = async (promql: string): Promise<PromSample[]> => {
    const r = await httpGet(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = JSON.parse(r.body) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
    };
    if (body.status !== 'success' || !body.data) throw new Error(`prometheus query '${promql}' failed: ${body.error ?? r.body}`);
    if (body.data.resultType !== 'vector') throw new Error(`prometheus query '${promql}': expected a vector, got ${body.data.resultType}`);
    return body.data.result.map((s) => ({ metric: s.metric, value: Number(s.value[1]) }));
  };
  return {
    url,
    get process() {
      return proc;
    },
    kill: () => proc.stop(),
    start: async () => {
      if (proc.running()) return;
      proc = launch();
      await ready();
    },
    query,
    stop,
  };
}
