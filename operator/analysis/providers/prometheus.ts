// The Prometheus metric provider: instant queries over the HTTP API (GET /api/v1/query).
// Every failure becomes an Error that says what went wrong in words an SRE can act on —
// it ends up in a measurement's reason and in the rollout's Events.
import type { MetricProvider } from '../provider.ts';

/** Options of the Prometheus provider. */
export interface PrometheusOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  /** Per-query timeout; default 5 s. */
  timeoutMs?: number;
  /** Extra request headers, e.g. an Authorization header for a protected Prometheus. */
  headers?: Record<string, string>;
}

/** The JSON envelope of the Prometheus HTTP API. */
interface ApiResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** A sample value as the API encodes it: [unix seconds, "value"]. */
type SampleValue = [number, string];

const DEFAULT_TIMEOUT_MS = 5_000;

/** A MetricProvider over one Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics). */
export class PrometheusProvider implements MetricProvider {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(opts: PrometheusOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.headers = { accept: 'application/json', ...opts.headers };
  }

  /** Runs an instant query; one series or a scalar is a number, an empty vector or NaN undefined. */
  async query(promql: string, signal?: AbortSignal): Promise<number | undefined> {
    const body = await this.request(promql, signal);
    const data = body.data;
    switch (data?.resultType) {
      case 'scalar':
        return parseValue(data.result as SampleValue);
      case 'vector': {
        const series = data.result as { metric: Record<string, string>; value: SampleValue }[];
        if (series.length === 0) return undefined;
        if (series.length > 1) {
          throw new Error(`Prometheus query returned ${series.length} series, the analysis needs one: aggregate it (sum, max, avg …) — ${brief(promql)}`);
        }
        return parseValue(series[0]!.value);
      }
      default:
        throw new Error(`Prometheus query returned a ${String(data?.resultType)}, the analysis needs an instant vector or a scalar — ${brief(promql)}`);
    }
  }

  /** True when Prometheus evaluates a trivial query (works for any compatible API, unlike /-/ready). */
  async isOnline(): Promise<boolean> {
    try {
      return (await this.query('vector(1)')) === 1;
    } catch {
      return false;
    }
  }

  private async request(promql: string, signal: AbortSignal | undefined): Promise<ApiResponse> {
    // Checked per query, not in the constructor: a missing address is a measurement that
    // cannot be taken (Inconclusive, with this message), not a crash of the reconcile.
    if (!/^https?:\/\/[^/\s]+/.test(this.url)) {
      throw new Error(`no usable Prometheus address (${JSON.stringify(this.url)}): set spec.monitoring.prometheusURL or the operator's default`);
    }
    const url = `${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`;
    let res: Response;
    let text: string;
    try {
      const timeout = AbortSignal.timeout(this.timeoutMs);
      res = await fetch(url, { headers: this.headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
      text = await res.text();
    } catch (err) {
      // The caller gave up (its reconcile was stopped): that is no fact about Prometheus.
      if (signal?.aborted) throw signal.reason;
      if (nameOf(err) === 'TimeoutError') {
        throw new Error(`Prometheus at ${this.url} did not answer within ${this.timeoutMs / 1000} s`, { cause: err });
      }
      throw new Error(`Prometheus at ${this.url} unreachable: ${causeOf(err)}`, { cause: err });
    }
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      // A proxy's HTML error page, or not Prometheus at all.
      throw new Error(`Prometheus at ${this.url} answered HTTP ${res.status} without the API's JSON: ${brief(text)}`);
    }
    if (body.status === 'error') {
      throw new Error(`Prometheus rejected the query (${body.errorType ?? `HTTP ${res.status}`}): ${body.error ?? 'no message'} — ${brief(promql)}`);
    }
    if (body.status !== 'success' || !res.ok) throw new Error(`Prometheus at ${this.url} answered HTTP ${res.status}: ${brief(text)}`);
    return body;
  }
}

/** The sample's number: NaN is no data; ±Inf are real results (a latency past the last bucket). */
function parseValue(sample: SampleValue | undefined): number | undefined {
  const raw = sample?.[1];
  if (raw === undefined) throw new Error(`Prometheus answered a sample without a value`);
  switch (raw) {
    case 'NaN':
      return undefined;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
  }
  const v = Number(raw);
  if (Number.isNaN(v)) throw new Error(`Prometheus answered a sample value that is not a number: ${brief(raw)}`);
  return v;
}

// Duck-typed, not instanceof: fetch's errors come from Node's own realm, which is not the
// caller's under a VM sandbox such as Jest's.
interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

function nameOf(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as ErrorLike).name === 'string' ? ((err as ErrorLike).name as string) : undefined;
}

/** The useful part of a fetch failure: "ECONNREFUSED …" rather than "fetch failed". */
function causeOf(err: unknown): string {
  const e = (typeof err === 'object' && err !== null ? err : {}) as ErrorLike;
  const message = typeof e.message === 'string' ? e.message : String(err);
  const c = (typeof e.cause === 'object' && e.cause !== null ? e.cause : undefined) as ErrorLike | undefined;
  if (c === undefined) return message;
  // Node reports a refused connection to a dual-stack name as an AggregateError with a
  // code and an empty message.
  const code = typeof c.code === 'string' ? c.code : undefined;
  const causeMessage = typeof c.message === 'string' ? c.message : '';
  if (code === undefined || causeMessage.includes(code)) return causeMessage || message;
  return causeMessage === '' ? code : `${code} ${causeMessage}`;
}

/** Text shortened for an error message (it ends up in a status field). */
function brief(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}…` : oneLine;
}
