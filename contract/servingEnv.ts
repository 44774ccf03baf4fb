// The serving container's environment: the one contract between the operator, which writes it
// into every serving Deployment, and the serving runtime, which loads it at startup. Names,
// validation and defaults are defined here once; neither side spells an environment name.
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Log levels the serving runtime accepts (pino's). */
export const SERVING_LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** Defaults of every optional setting: what the runtime assumes when a variable is unset. */
export const SERVING_DEFAULTS = {
  revision: 'unversioned',
  modelMaxBytes: 512 * 1024 ** 2,
  task: 'auto',
  workers: 1,
  intraOpThreads: 1,
  spinning: false,
  batchMaxSize: 32,
  batchMaxDelayMs: 0,
  warmup: 5,
  inlineMaxMicros: 100,
  queueBound: 256,
  bodyLimitBytes: 32 * 1024 ** 2,
  host: '0.0.0.0',
  port: 8080,
  driftWindow: 1000,
  breakerEnabled: false,
  breakerThreshold: 0.5,
  breakerMinRequests: 50,
  feedbackCapacity: 100_000,
  feedbackTtlSeconds: 3600,
  logLevel: 'info',
  payloadLogSampleRate: 0,
  shutdownTimeoutMs: 30_000,
  headersTimeoutMs: 15_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 72_000,
  maxConnections: 10_000,
  runTimeoutMs: 30_000,
} as const;

const d = SERVING_DEFAULTS;

/** A model name the server accepts: 1-64 letters, digits, ".", "_" or "-", first and last a letter or digit (the {name} in /v2/models/{name}). */
export const MODEL_NAME_PATTERN = /^[a-zA-Z0-9]([a-zA-Z0-9._-]{0,62}[a-zA-Z0-9])?$/;

/** Most inputs a warm-up sample names, most dimensions per input, and most elements per input. */
export const WARMUP_SAMPLE_LIMITS = { inputs: 64, rank: 8, elements: 1 << 24 } as const;

/**
 * A user-given warm-up sample (as Triton's model_warmup): the shape of every model input and,
 * optionally, the one value all its elements take (e.g. a sample rate). The ModelDeployment's
 * spec.serving.warmup.inputs and the runtime's SISKIN_WARMUP_INPUTS (as JSON) are this.
 */
export const warmupSampleSchema = z
  .array(
    z.object({
      name: z.string().min(1).max(256).describe('Model input name.'),
      shape: z.array(z.number().int().min(0).max(1 << 24)).max(WARMUP_SAMPLE_LIMITS.rank).describe('Shape of the input; [] for a scalar.'),
      fill: z.number().finite().optional().describe('Value of every element (default: small deterministic values).'),
    }),
  )
  .min(1)
  .max(WARMUP_SAMPLE_LIMITS.inputs)
  // The API server cannot multiply a list (CEL): the operator's parse and the runtime check it.
  .superRefine((inputs, ctx) => {
    for (const [i, t] of inputs.entries()) {
      if (t.shape.reduce((a, b) => a * b, 1) > WARMUP_SAMPLE_LIMITS.elements) {
        ctx.addIssue({ code: 'custom', path: [i, 'shape'], message: `a warm-up input has at most ${WARMUP_SAMPLE_LIMITS.elements} elements` });
      }
    }
  });

/** A user-given warm-up sample: one entry per model input. */
export type WarmupSample = z.output<typeof warmupSampleSchema>;

// The variable holds the sample as JSON; anything that is not JSON is reported like a schema issue.
const warmupSampleJson = z
  .string()
  .max(16 * 1024)
  .transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be JSON: [{"name": …, "shape": […], "fill"?: …}, …]' });
      return z.NEVER;
    }
  })
  .pipe(warmupSampleSchema);

// Keyed by setting, not by variable: the operator builds a typed object of these, and the
// variable names below are the only place the two meet.
const settingsSchema = z.object({
  modelName: z.string().regex(MODEL_NAME_PATTERN, 'must be 1-64 letters, digits, ".", "_" or "-", first and last a letter or digit'),
  revision: z.string().min(1).max(128).default(d.revision),
  modelUri: z.string().refine((u) => /^(file|https?):\/\//.test(u), 'must be a file://, http:// or https:// URL'),
  modelSha256: z
    .string()
    .regex(/^[a-f0-9]{64}$/i, 'must be 64 hex characters')
    .transform((s) => s.toLowerCase())
    .optional(),
  modelMaxBytes: int(1, 8 * 1024 ** 3).default(d.modelMaxBytes),
  task: z.enum(['auto', 'classifier', 'regressor']).default(d.task),
  workers: int(1, 256).default(d.workers),
  intraOpThreads: int(1, 256).default(d.intraOpThreads),
  spinning: bool.default(d.spinning),
  batchMaxSize: int(1, 65536).default(d.batchMaxSize),
  batchMaxDelayMs: z.coerce.number().min(0).max(10_000).default(d.batchMaxDelayMs),
  warmup: int(0, 10_000).default(d.warmup),
  /** Warm up with these inputs instead of generated ones; a model that fails them is refused. */
  warmupInputs: warmupSampleJson.optional(),
  /** A lone request on an idle server runs on the event loop while its estimated run is within this many µs; 0 turns it off. */
  inlineMaxMicros: int(0, 1_000_000).default(d.inlineMaxMicros),
  queueBound: int(1, 1_000_000).default(d.queueBound),
  bodyLimitBytes: int(1024, 1024 ** 3).default(d.bodyLimitBytes),
  host: z.string().min(1).default(d.host),
  port: int(0, 65535).default(d.port),
  routingFile: z.string().min(1).optional(),
  authTokenFile: z.string().min(1).optional(),
  referenceProfile: z.string().min(1).optional(),
  driftWindow: int(10, 10_000_000).default(d.driftWindow),
  breakerEnabled: bool.default(d.breakerEnabled),
  breakerThreshold: z.coerce.number().gt(0).max(1).default(d.breakerThreshold),
  breakerMinRequests: int(1, 1_000_000).default(d.breakerMinRequests),
  /** Prediction rows kept for feedback (not requests: a batch of n rows counts n). */
  feedbackCapacity: int(0, 10_000_000).default(d.feedbackCapacity),
  feedbackTtlSeconds: int(1, 30 * 24 * 3600).default(d.feedbackTtlSeconds),
  logLevel: z.enum(SERVING_LOG_LEVELS).default(d.logLevel),
  payloadLogSampleRate: z.coerce.number().min(0).max(1).default(d.payloadLogSampleRate),
  shutdownTimeoutMs: int(0, 600_000).default(d.shutdownTimeoutMs),
  /** A connection whose request headers have not all arrived this long after it opened (or its previous request) gets 408 and is closed. */
  headersTimeoutMs: int(100, 600_000).default(d.headersTimeoutMs),
  /** A request whose headers and body have not all arrived this long after it started gets 408 and is closed. */
  requestTimeoutMs: int(100, 3_600_000).default(d.requestTimeoutMs),
  /** An idle keep-alive connection is closed after this long; above a proxy's own idle timeout, so the proxy closes first. */
  keepAliveTimeoutMs: int(100, 3_600_000).default(d.keepAliveTimeoutMs),
  /** Open connections beyond this are closed as they arrive, so sockets cannot exhaust the process. */
  maxConnections: int(1, 1_000_000).default(d.maxConnections),
  /** A worker whose run takes longer is terminated and replaced; its callers get 504. */
  runTimeoutMs: int(10, 3_600_000).default(d.runTimeoutMs),
  /** This pod's IP (the downward API's status.podIP): feedback ids minted here name it, so a sibling replica can forward labels back. */
  podIp: z.ipv4().or(z.ipv6()).optional(),
  /** A key every replica of the model shares: it signs the address in feedback ids, so labels are only ever forwarded to a sibling. */
  peerKeyFile: z.string().min(1).optional(),
});

type Parsed = z.output<typeof settingsSchema>;
type Unset = 'modelSha256' | 'routingFile' | 'authTokenFile' | 'referenceProfile' | 'warmupInputs' | 'podIp' | 'peerKeyFile';
const UNSET: Record<Unset, undefined> = {
  modelSha256: undefined,
  routingFile: undefined,
  authTokenFile: undefined,
  referenceProfile: undefined,
  warmupInputs: undefined,
  podIp: undefined,
  peerKeyFile: undefined,
};

/** Validated serving configuration, every default filled in; a setting without one is present as undefined. */
export type ServingSettings = Omit<Parsed, Unset> & { [K in Unset]: Parsed[K] };

/**
 * The environment variable of each setting. The order is the order variables are rendered
 * in: a Deployment's env is part of its pod template, so a new order would restart pods.
 */
export const SERVING_ENV = {
  modelName: 'SISKIN_MODEL_NAME',
  modelUri: 'SISKIN_MODEL_URI',
  modelSha256: 'SISKIN_MODEL_SHA256',
  revision: 'SISKIN_MODEL_REVISION',
  host: 'SISKIN_HOST',
  port: 'SISKIN_PORT',
  workers: 'SISKIN_WORKERS',
  intraOpThreads: 'SISKIN_INTRA_OP_THREADS',
  batchMaxSize: 'SISKIN_BATCH_MAX_SIZE',
  batchMaxDelayMs: 'SISKIN_BATCH_MAX_DELAY_MS',
  warmup: 'SISKIN_WARMUP',
  payloadLogSampleRate: 'SISKIN_PAYLOAD_LOG_SAMPLE_RATE',
  routingFile: 'SISKIN_ROUTING_FILE',
  referenceProfile: 'SISKIN_REFERENCE_PROFILE',
  authTokenFile: 'SISKIN_AUTH_TOKEN_FILE',
  modelMaxBytes: 'SISKIN_MODEL_MAX_BYTES',
  task: 'SISKIN_MODEL_TASK',
  spinning: 'SISKIN_SPINNING',
  inlineMaxMicros: 'SISKIN_INLINE_MAX_MICROS',
  queueBound: 'SISKIN_QUEUE_BOUND',
  bodyLimitBytes: 'SISKIN_BODY_LIMIT_BYTES',
  driftWindow: 'SISKIN_DRIFT_WINDOW',
  breakerEnabled: 'SISKIN_BREAKER_ENABLED',
  breakerThreshold: 'SISKIN_BREAKER_THRESHOLD',
  breakerMinRequests: 'SISKIN_BREAKER_MIN_REQUESTS',
  feedbackCapacity: 'SISKIN_FEEDBACK_CAPACITY',
  feedbackTtlSeconds: 'SISKIN_FEEDBACK_TTL_SECONDS',
  logLevel: 'SISKIN_LOG_LEVEL',
  shutdownTimeoutMs: 'SISKIN_SHUTDOWN_TIMEOUT_MS',
  headersTimeoutMs: 'SISKIN_HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'SISKIN_REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'SISKIN_KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'SISKIN_MAX_CONNECTIONS',
  runTimeoutMs: 'SISKIN_RUN_TIMEOUT_MS',
  warmupInputs: 'SISKIN_WARMUP_INPUTS',
  podIp: 'SISKIN_POD_IP',
  peerKeyFile: 'SISKIN_PEER_KEY_FILE',
  // `satisfies` makes a setting without a variable (or a variable without a setting) a type error.
} as const satisfies Record<keyof ServingSettings, `SISKIN_${string}`>;

/** What a writer of the environment states: the model, and any setting it wants off its default. */
export type ServingEnvInput = Pick<ServingSettings, 'modelName' | 'modelUri'> & Partial<Omit<ServingSettings, 'modelName' | 'modelUri'>>;

/** One environment variable, in the shape of a container's env entry. */
export interface EnvVar {
  name: string;
  value: string;
}

/** Renders settings as environment variables, in SERVING_ENV's fixed order; unset settings are left out. */
export function servingEnvVars(settings: ServingEnvInput): EnvVar[] {
  const values: Partial<Record<keyof ServingSettings, string | number | boolean | WarmupSample>> = settings;
  const out: EnvVar[] = [];
  for (const [key, name] of Object.entries(SERVING_ENV) as [keyof ServingSettings, string][]) {
    const value = values[key];
    // The one structured setting travels as JSON (key order as given: deterministic).
    if (value !== undefined) out.push({ name, value: typeof value === 'object' ? JSON.stringify(value) : String(value) });
  }
  return out;
}

/** Result of loading the environment: settings, or every problem found. */
export type ServingEnvResult = { ok: true; settings: ServingSettings } | { ok: false; problems: string[] };

const settingOf = new Map(Object.entries(SERVING_ENV).map(([key, name]) => [name as string, key]));

/** Loads and validates the environment; never throws, and reports every problem at once. */
export function parseServingEnv(env: Record<string, string | undefined>): ServingEnvResult {
  // Empty strings mean "unset" (a Deployment often templates optional values as "").
  const raw: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const key = settingOf.get(name);
    if (key !== undefined && value !== undefined && value !== '') raw[key] = value;
  }
  const r = settingsSchema.safeParse(raw);
  // Checked apart from the schema so it is reported together with the field errors.
  const crossField: string[] = [];
  if (/^https?:/.test(raw.modelUri ?? '') && raw.modelSha256 === undefined) {
    crossField.push(`${SERVING_ENV.modelSha256}: is required when ${SERVING_ENV.modelUri} is http(s)`);
  }
  if (r.success && r.data.headersTimeoutMs > r.data.requestTimeoutMs) {
    // Node refuses a headers timeout longer than the request timeout that contains it.
    crossField.push(`${SERVING_ENV.headersTimeoutMs}: must not exceed ${SERVING_ENV.requestTimeoutMs}`);
  }
  if (r.success && crossField.length === 0) return { ok: true, settings: { ...UNSET, ...r.data } };
  const envName = (path: readonly PropertyKey[]): string => {
    const key = path[0];
    return typeof key === 'string' && key in SERVING_ENV ? SERVING_ENV[key as keyof ServingSettings] : 'environment';
  };
  const issues = r.success ? [] : r.error.issues.map((i) => `${envName(i.path)}: ${i.message}`);
  return { ok: false, problems: [...issues, ...crossField] };
}
