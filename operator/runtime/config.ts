// Operator configuration from the environment, validated once at startup: a bad deployment fails
// fast with every problem listed, instead of failing one variable at a time.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './logger.ts';

/** Validated operator configuration. */
export interface OperatorConfig {
  /** The one namespace to watch, or undefined to watch the whole cluster. */
  watchNamespace: string | undefined;
  /** Serving image for ModelDeployments that do not set one. */
  defaultServingImage: string;
  /** Prometheus URL for ModelDeployments that do not set one. */
  defaultPrometheusAddress: string;
  /** The other Prometheus URLs a ModelDeployment may name in spec.monitoring.prometheusURL; any other gets no request. */
  allowedPrometheusAddresses: string[];
  /** Concurrent reconciles per controller. */
  maxConcurrentReconciles: number;
  /** Leader election on a Lease. */
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseNamespace: string;
    /** This process's identity on the Lease: pod name plus a random suffix, like client-go. */
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /** The /healthz, /readyz and /metrics server. */
  http: { host: string; port: number };
  /** Scale to zero's activator: the address EndpointSlices name (the pod IP), its port range and hold timeout; undefined: no model scales to zero. */
  activator: { address: string; ports: { first: number; last: number }; holdTimeoutMs: number } | undefined;
  logLevel: LogLevel;
}

/** Thrown by loadConfig with one line per problem. */
export class ConfigError extends Error {
  /** Every problem, as "VARIABLE: message". */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid operator configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const dnsLabel = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a DNS-1123 label (lowercase letters, digits, "-")');
const dnsSubdomain = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 subdomain');
const seconds = z.coerce.number().positive().max(3600);
// A Prometheus address is a plain base URL: credentials would reach status and Events in every
// error naming the address, and fetch silently drops a fragment (with whatever path follows "#").
const prometheusAddress = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .refine((u) => !/^https?:\/\/[^/?#]*@/i.test(u), 'must not carry credentials (user:password@); use an authenticating proxy')
  .refine((u) => !/[?#]/.test(u), 'must not carry a query or a fragment: it is the base URL the API paths are appended to');
/** Comma-separated Prometheus addresses, each checked like the default; blanks between commas are ignored. */
const prometheusAddresses = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((a) => a.trim())
      .filter((a) => a !== ''),
  )
  .pipe(z.array(prometheusAddress));

/** The environment variables the operator reads, with their defaults. */
export const configSchema = z.object({
  SISKIN_WATCH_NAMESPACE: dnsLabel.optional(),
  SISKIN_DEFAULT_SERVING_IMAGE: z
    .string()
    .regex(/^[^\s]+$/, 'must be an image reference without spaces')
    .default('siskin:0.1.0'),
  SISKIN_DEFAULT_PROMETHEUS_ADDRESS: prometheusAddress.default('http://prometheus.monitoring.svc:9090'),
  // The only addresses spec.monitoring.prometheusURL may pick besides the default: the operator
  // must not query (and report the answers of) any URL a ModelDeployment author names.
  SISKIN_ALLOWED_PROMETHEUS_ADDRESSES: prometheusAddresses.default([]),
  SISKIN_MAX_CONCURRENT_RECONCILES: z.coerce.number().int().min(1).max(64).default(4),
  SISKIN_LEADER_ELECT: z.stringbool().default(true),
  SISKIN_LEADER_ELECTION_LEASE_NAME: dnsSubdomain.default('siskin-operator'),
  SISKIN_LEADER_ELECTION_NAMESPACE: dnsLabel.optional(),
  SISKIN_LEASE_DURATION_SECONDS: seconds.default(15),
  SISKIN_RENEW_DEADLINE_SECONDS: seconds.default(10),
  SISKIN_RETRY_PERIOD_SECONDS: seconds.default(2),
  // All interfaces by default: kubelet probes and Prometheus reach the pod on its pod IP.
  SISKIN_HTTP_HOST: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address' }).default('0.0.0.0'),
  SISKIN_HTTP_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
  SISKIN_LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
  // Scale to zero: where Services of a model at zero send requests (the chart sets the pod IP
  // from the downward API). Unset: no model scales to zero, whatever its minReplicas.
  SISKIN_ACTIVATOR_ADDRESS: z.union([z.ipv4(), z.ipv6()], { error: 'must be an IP address (the operator pod\'s IP)' }).optional(),
  // One port per model that may scale to zero: the port tells the activator which model a request is for.
  SISKIN_ACTIVATOR_PORTS: z
    .string()
    .regex(/^\d{1,5}-\d{1,5}$/, 'must be a port range like 9400-9499')
    .refine((s) => {
      const [a, b] = s.split('-').map(Number) as [number, number];
      return a >= 1 && b <= 65535 && a <= b;
    }, 'must be an ascending range within 1-65535')
    .default('9400-9499'),
  SISKIN_ACTIVATOR_HOLD_TIMEOUT_SECONDS: z.coerce.number().positive().max(3600).default(120),
  // Set by the Deployment through the downward API.
  POD_NAME: z.string().optional(),
  POD_NAMESPACE: dnsLabel.optional(),
});

/** Reads and validates the configuration; throws ConfigError listing every problem. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): OperatorConfig {
  // An empty variable means "unset", as in a Helm chart that renders an empty value.
  const raw = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in configSchema.shape && v !== undefined && v !== ''));
  // Fields are parsed one by one so that cross-field rules still run, and are still reported,
  // when some unrelated variable is invalid.
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(configSchema.shape)) {
    const r = schema.safeParse(raw[name]);
    if (r.success) values[name] = r.data;
    else problems.push(...r.error.issues.map((i) => `${[name, ...i.path].join('.')}: ${i.message}`));
  }
  const c = values as Partial<z.infer<typeof configSchema>>;
  const leaseNamespace = c.SISKIN_LEADER_ELECTION_NAMESPACE ?? c.POD_NAMESPACE ?? c.SISKIN_WATCH_NAMESPACE;
  if (c.SISKIN_LEADER_ELECT === true && !leaseNamespace) {
    problems.push('SISKIN_LEADER_ELECTION_NAMESPACE: required when leader election is on (or set POD_NAMESPACE or SISKIN_WATCH_NAMESPACE)');
  }
  const { SISKIN_LEASE_DURATION_SECONDS: lease, SISKIN_RENEW_DEADLINE_SECONDS: renew, SISKIN_RETRY_PERIOD_SECONDS: retry } = c;
  if (lease !== undefined && renew !== undefined && !(lease > renew)) {
    problems.push('SISKIN_LEASE_DURATION_SECONDS: must be greater than SISKIN_RENEW_DEADLINE_SECONDS');
  }
  if (renew !== undefined && retry !== undefined && !(renew > 1.2 * retry)) {
    problems.push('SISKIN_RENEW_DEADLINE_SECONDS: must be greater than 1.2 × SISKIN_RETRY_PERIOD_SECONDS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const ok = configSchema.parse(raw);
  return {
    watchNamespace: ok.SISKIN_WATCH_NAMESPACE,
    defaultServingImage: ok.SISKIN_DEFAULT_SERVING_IMAGE,
    defaultPrometheusAddress: ok.SISKIN_DEFAULT_PROMETHEUS_ADDRESS,
    allowedPrometheusAddresses: ok.SISKIN_ALLOWED_PROMETHEUS_ADDRESSES,
    maxConcurrentReconciles: ok.SISKIN_MAX_CONCURRENT_RECONCILES,
    leaderElection: {
      enabled: ok.SISKIN_LEADER_ELECT,
      leaseName: ok.SISKIN_LEADER_ELECTION_LEASE_NAME,
      leaseNamespace: leaseNamespace ?? '',
      identity: `${ok.POD_NAME ?? hostname()}_${randomUUID()}`,
      leaseDurationMs: ok.SISKIN_LEASE_DURATION_SECONDS * 1000,
      renewDeadlineMs: ok.SISKIN_RENEW_DEADLINE_SECONDS * 1000,
      retryPeriodMs: ok.SISKIN_RETRY_PERIOD_SECONDS * 1000,
    },
    http: { host: ok.SISKIN_HTTP_HOST, port: ok.SISKIN_HTTP_PORT },
    logLevel: ok.SISKIN_LOG_LEVEL,
    activator: ok.SISKIN_ACTIVATOR_ADDRESS
      ? {
          address: ok.SISKIN_ACTIVATOR_ADDRESS,
          ports: { first: Number(ok.SISKIN_ACTIVATOR_PORTS.split('-')[0]), last: Number(ok.SISKIN_ACTIVATOR_PORTS.split('-')[1]) },
          holdTimeoutMs: ok.SISKIN_ACTIVATOR_HOLD_TIMEOUT_SECONDS * 1000,
        }
      : undefined,
  };
}
