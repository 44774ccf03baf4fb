// The Prometheus metric provider: instant queries over the HTTP API (GET /api/v1/query).
// Every failure becomes an Error that says what went wrong in words an SRE can act on —
// it ends up in a measurement's reason and in the rollout's Events. What an answer that is
// not Prometheus's JSON said never does (only its status and content type): status is read
// by whoever reads the ModelDeployment, and the address might not be Prometheus at all.
import { BodyTooLargeError, discard, readCapped } from '../../runtime/http.ts';
import type { MetricProvider } from '../provider.ts';

/** Options of the Prometheus provider. */
export interface PrometheusOptions {
  /** Base URL, e.g. http://prometheus.monitoring:9090 (a path prefix is kept). */
  url: string;
  /** Per-query timeout, the whole answer included; default 5 s. */
  timeoutMs?: number;
  /** Largest answer read; default 4 MiB (an instant query of one series is a few hundred bytes). */
  maxBytes?: number;
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
/** The largest answer read from Prometheus unless the provider is told otherwise; a longer one is an error. */
export const PROMETHEUS_MAX_ANSWER_BYTES = 4 * 1024 * 1024;
/** Longest error message of Prometheus's own quoted in a status. */
const MAX_ERROR_CHARS = 300;

/** A MetricProvider over one Prometheus (or a compatible API: Thanos, Mimir, VictoriaMetrics). */
export class PrometheusProvider implements MetricProvider {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;
  private readonly headers: Record<string, string>;

  constructor(opts: PrometheusOptions) {
    this.url = opts.url.replace(/\/+$/, '');
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxBytes ?? PROMETHEUS_MAX_ANSWER_BYTES;
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
        throw new Error(`Prometheus query returned a ${brief(String(data?.resultType), 40)}, the analysis needs an instant vector or a scalar — ${brief(promql)}`);
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
    const { res, text } = await this.fetchCapped(`${this.url}/api/v1/query?query=${encodeURIComponent(promql)}`, signal);
    const answered = `Prometheus at ${this.url} answered HTTP ${res.status}`;
    const contentType = res.headers.get('content-type');
    // A proxy's HTML error page, a login form, or not Prometheus at all: named, never quoted.
    if (!isJson(contentType)) throw new Error(`${answered} with ${describeType(contentType)}, not the API's JSON`);
    let body: ApiResponse;
    try {
      body = JSON.parse(text) as ApiResponse;
    } catch {
      throw new Error(`${answered} with a body that is not valid JSON`);
    }
    if (typeof body !== 'object' || body === null) throw new Error(`${answered} with JSON that is not the API's envelope`);
    if (body.status === 'error') {
      const kind = typeof body.errorType === 'string' ? brief(body.errorType, 40) : `HTTP ${res.status}`;
      const said = typeof body.error === 'string' ? brief(body.error, MAX_ERROR_CHARS) : 'no message';
      throw new Error(`Prometheus rejected the query (${kind}): ${said} — ${brief(promql)}`);
    }
    if (body.status !== 'success' || !res.ok) throw new Error(`${answered} without a successful result`);
    return body;
  }

  /** GET url: no redirect followed, the answer read within the size cap and the timeout (headers and body alike). */
  private async fetchCapped(url: string, signal: AbortSignal | undefined): Promise<{ res: Response; text: string }> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
    let res: Response;
    try {
      // A redirect could lead anywhere the operator's network reaches: it is an error, not a hop.
      res = await fetch(url, { headers: this.headers, redirect: 'manual', signal: both });
    } catch (err) {
      throw this.failure(err, signal);
    }
    if (res.status >= 300 && res.status < 400) {
      await discard(res);
      throw new Error(`Prometheus at ${this.url} answered HTTP ${res.status}, a redirect${redirectTarget(res, url)}; redirects are not followed`);
    }
    try {
      return { res, text: await readCapped(res, this.maxBytes, both) };
    } catch (err) {
      throw this.failure(err, signal);
    }
  }

  /** What a failed request or read is reported as; the caller's own abort passes through as is. */
  private failure(err: unknown, signal: AbortSignal | undefined): unknown {
    // The caller gave up (its reconcile was stopped): that is no fact about Prometheus.
    if (signal?.aborted) return signal.reason;
    if (err instanceof BodyTooLargeError) return new Error(`Prometheus at ${this.url}: ${err.message}`, { cause: err });
    if (nameOf(err) === 'TimeoutError') return new Error(`Prometheus at ${this.url} did not answer within ${this.timeoutMs / 1000} s`, { cause: err });
    return new Error(`Prometheus at ${this.url} unreachable: ${causeOf(err)}`, { cause: err });
  }
}

/** " to https://other.example": the Location's origin only (its path and query may carry anything). */
function redirectTarget(res: Response, base: string): string {
  const location = res.headers.get('location');
  if (location === null) return '';
  try {
    return ` to ${new URL(location, base).origin}`;
  } catch {
    return ' to an unreadable Location';
  }
}

/** "content type text/html": the media type alone, as a header value may carry anything after it. */
function describeType(contentType: string | null): string {
  const type = mediaType(contentType);
  if (type === '') return 'no content type';
  return /^[\w.+-]{1,40}\/[\w.+-]{1,60}$/.test(type) ? `content type ${type}` : 'an unreadable content type';
}

/** "text/html; charset=utf-8" → "text/html". */
function mediaType(contentType: string | null): string {
  return contentType?.split(';')[0]?.trim().toLowerCase() ?? '';
}

/** application/json, or a +json type (RFC 6839). */
function isJson(contentType: string | null): boolean {
  const type = mediaType(contentType);
  return type === 'application/json' || type.endsWith('+json');
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
function brief(text: string, max = 200): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}
