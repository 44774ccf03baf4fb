// A closed-loop HTTP load generator: `concurrency` clients on keep-alive connections,
// each sending its next request when the previous answer arrives. Small on purpose, so
// the same code drives every server in the comparison.
import { Agent, request } from 'node:http';

/** One request to send repeatedly. */
export interface LoadRequest {
  url: string;
  body: Buffer;
  headers: Record<string, string>;
}

/** Latency percentiles (seconds) and throughput of one run. */
export interface LoadResult {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  throughput: number;
}

/** Percentile of sorted seconds. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function once(agent: Agent, req: LoadRequest): Promise<number> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const r = request(
      { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { ...req.headers, 'content-length': String(req.body.length) } },
      (res) => {
        res.on('data', () => {});
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    r.on('error', reject);
    r.end(req.body);
  });
}

/** Runs `concurrency` clients for `seconds` (after `warmupSeconds` not counted). */
export async function runLoad(req: LoadRequest, concurrency: number, seconds: number, warmupSeconds = 0.5): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + warmupSeconds * 1000;
  const end = measureFrom + seconds * 1000;
  const client = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      let status = 0;
      try {
        status = await once(agent, req);
      } catch {
        status = 0;
      }
      const t1 = performance.now();
      if (t0 < measureFrom) continue;
      if (status !== 200) errors++;
      else latencies.push((t1 - t0) / 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { requests: latencies.length, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99), throughput: latencies.length / seconds };
}
