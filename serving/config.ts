// Configuration comes from environment variables only (a Deployment sets them), is
// validated once at startup, and an invalid one reports every problem at once.
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const bool = z
  .enum(['true', 'false', '1', '0'])
  .transform((v) => v === 'true' || v === '1');

const schema = z
  .object({
    SISKIN_MODEL_NAME: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/i, 'must be 1-64 letters, digits, ".", "_" or "-"'),
    SISKIN_MODEL_REVISION: z.string().min(1).max(128).default('unversioned'),
    SISKIN_MODEL_URI: z
      .string()
      .refine((u) => /^(file|https?):\/\//.test(u), 'must be a file://, http:// or https:// URL'),
    SISKIN_MODEL_SHA256: z
      .string()
      .regex(/^[a-f0-9]{64}$/i, 'must be 64 hex characters')
      .transform((s) => s.toLowerCase())
      .optional(),
    SISKIN_MODEL_MAX_BYTES: int(1, 8 * 1024 ** 3).default(512 * 1024 ** 2),
    SISKIN_MODEL_TASK: z.enum(['auto', 'classifier', 'regressor']).default('auto'),
    SISKIN_WORKERS: int(1, 256).default(1),
    SISKIN_INTRA_OP_THREADS: int(1, 256).default(1),
    SISKIN_SPINNING: bool.default(false),
    SISKIN_BATCH_MAX_SIZE: int(1, 65536).default(32),
    SISKIN_BATCH_MAX_DELAY_MS: z.coerce.number().min(0).max(10_000).default(0),
    SISKIN_WARMUP: int(0, 10_000).default(5),
    SISKIN_INLINE_MAX_MICROS: int(0, 1_000_000).default(100),
    SISKIN_QUEUE_BOUND: int(1, 1_000_000).default(256),
    SISKIN_BODY_LIMIT_BYTES: int(1024, 1024 ** 3).default(32 * 1024 ** 2),
    SISKIN_HOST: z.string().min(1).default('0.0.0.0'),
    SISKIN_PORT: int(0, 65535).default(8080),
    SISKIN_ROUTING_FILE: z.string().min(1).optional(),
    SISKIN_AUTH_TOKEN_FILE: z.string().min(1).optional(),
    SISKIN_REFERENCE_PROFILE: z.string().min(1).optional(),
    SISKIN_DRIFT_WINDOW: int(10, 10_000_000).default(1000),
    SISKIN_BREAKER_ENABLED: bool.default(false),
    SISKIN_BREAKER_THRESHOLD: z.coerce.number().gt(0).max(1).default(0.5),
    SISKIN_BREAKER_MIN_REQUESTS: int(1, 1_000_000).default(50),
    SISKIN_FEEDBACK_CAPACITY: int(0, 10_000_000).default(100_000),
    SISKIN_FEEDBACK_TTL_SECONDS: int(1, 30 * 24 * 3600).default(3600),
    SISKIN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    SISKIN_PAYLOAD_LOG_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0),
    SISKIN_SHUTDOWN_TIMEOUT_MS: int(0, 600_000).default(30_000),
  });

/** Validated server configuration. */
export interface ServingConfig {
  modelName: string;
  revision: string;
  modelUri: string;
  modelSha256: string | undefined;
  modelMaxBytes: number;
  task: 'auto' | 'classifier' | 'regressor';
  workers: number;
  intraOpThreads: number;
  spinning: boolean;
  batchMaxSize: number;
  batchMaxDelayMs: number;
  warmup: number;
  /** A lone request on an idle server runs on the event loop while its estimated run is within this many µs; 0 turns it off. */
  inlineMaxMicros: number;
  queueBound: number;
  bodyLimitBytes: number;
  host: string;
  port: number;
  routingFile: string | undefined;
  authTokenFile: string | undefined;
  referenceProfile: string | undefined;
  driftWindow: number;
  breakerEnabled: boolean;
  breakerThreshold: number;
  breakerMinRequests: number;
  /** Prediction rows kept for feedback (not requests: a batch of n rows counts n). */
  feedbackCapacity: number;
  feedbackTtlSeconds: number;
  logLevel: string;
  payloadLogSampleRate: number;
  shutdownTimeoutMs: number;
}

/** Result of parsing the environment: a config, or every problem found. */
export type ConfigResult = { ok: true; config: ServingConfig } | { ok: false; problems: string[] };

/** Parses and validates the environment; never throws. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  // Empty strings mean "unset" (a Deployment often templates optional values as "").
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('SISKIN_') && v !== ''));
  const r = schema.safeParse(cleaned);
  // Checked apart from the schema so it is reported together with the field errors.
  const crossField: string[] = [];
  if (/^https?:/.test(cleaned.SISKIN_MODEL_URI ?? '') && cleaned.SISKIN_MODEL_SHA256 === undefined) {
    crossField.push('SISKIN_MODEL_SHA256: is required when SISKIN_MODEL_URI is http(s)');
  }
  if (!r.success || crossField.length > 0) {
    const issues = r.success ? [] : r.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`);
    return { ok: false, problems: [...issues, ...crossField] };
  }
  const e = r.data;
  return {
    ok: true,
    config: {
      modelName: e.SISKIN_MODEL_NAME,
      revision: e.SISKIN_MODEL_REVISION,
      modelUri: e.SISKIN_MODEL_URI,
      modelSha256: e.SISKIN_MODEL_SHA256,
      modelMaxBytes: e.SISKIN_MODEL_MAX_BYTES,
      task: e.SISKIN_MODEL_TASK,
      workers: e.SISKIN_WORKERS,
      intraOpThreads: e.SISKIN_INTRA_OP_THREADS,
      spinning: e.SISKIN_SPINNING,
      batchMaxSize: e.SISKIN_BATCH_MAX_SIZE,
      batchMaxDelayMs: e.SISKIN_BATCH_MAX_DELAY_MS,
      warmup: e.SISKIN_WARMUP,
      inlineMaxMicros: e.SISKIN_INLINE_MAX_MICROS,
      queueBound: e.SISKIN_QUEUE_BOUND,
      bodyLimitBytes: e.SISKIN_BODY_LIMIT_BYTES,
      host: e.SISKIN_HOST,
      port: e.SISKIN_PORT,
      routingFile: e.SISKIN_ROUTING_FILE,
      authTokenFile: e.SISKIN_AUTH_TOKEN_FILE,
      referenceProfile: e.SISKIN_REFERENCE_PROFILE,
      driftWindow: e.SISKIN_DRIFT_WINDOW,
      breakerEnabled: e.SISKIN_BREAKER_ENABLED,
      breakerThreshold: e.SISKIN_BREAKER_THRESHOLD,
      breakerMinRequests: e.SISKIN_BREAKER_MIN_REQUESTS,
      feedbackCapacity: e.SISKIN_FEEDBACK_CAPACITY,
      feedbackTtlSeconds: e.SISKIN_FEEDBACK_TTL_SECONDS,
      logLevel: e.SISKIN_LOG_LEVEL,
      payloadLogSampleRate: e.SISKIN_PAYLOAD_LOG_SAMPLE_RATE,
      shutdownTimeoutMs: e.SISKIN_SHUTDOWN_TIMEOUT_MS,
    },
  };
}
