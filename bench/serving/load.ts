// The closed-loop load generator: autocannon, `concurrency` keep-alive connections, each
// sending its next request when the previous answer arrives. Autocannon's own histogram
// keeps whole milliseconds, so every answer's exact time is taken from its 'response'
// event instead; the same code and payloads drive every server in the comparison.
import autocannon from 'autocannon';

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
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Runs `concurrency` connections for `seconds` (after `warmupSeconds` not counted). */
export async function runLoad(req: LoadRequest, concurrency: number, seconds: number, warmupSeconds = 0.5): Promise<LoadResult> {
  // Preallocated: pushing into a growing array would make the generator's own GC part of
  // what it measures. 200k answers a second is far above anything it reaches on one core.
  const latencies = new Float64Array(Math.ceil((seconds + warmupSeconds + 1) * 200_000));
  let count = 0;
  let errors = 0;
  let measureFrom = Number.POSITIVE_INFINITY;
  let measureTo = Number.POSITIVE_INFINITY;
  await new Promise<void>((resolve, reject) => {
    const instance = autocannon(
      {
        url: req.url,
        method: 'POST',
        // Autocannon sets Content-Length from the body itself; a second one is a 400.
        headers: req.headers,
        body: req.body,
        connections: concurrency,
        pipelining: 1,
        duration: seconds + warmupSeconds + 0.5,
      },
      (err) => (err === null || err === undefined ? resolve() : reject(err instanceof Error ? err : new Error(String(err)))),
    );
    const start = performance.now();
    measureFrom = start + warmupSeconds * 1000;
    measureTo = measureFrom + seconds * 1000;
    instance.on('response', (_client, status, _bytes, responseTime) => {
      const now = performance.now();
      if (now < measureFrom || now > measureTo) return;
      if (status !== 200) errors++;
      else if (count < latencies.length) latencies[count++] = responseTime / 1000;
    });
    instance.on('reqError', () => {
      const now = performance.now();
      if (now >= measureFrom && now <= measureTo) errors++;
    });
  });
  const sorted = latencies.slice(0, count).sort();
  return { requests: count, errors, p50: percentile(sorted, 50), p99: percentile(sorted, 99), throughput: count / seconds };
}
