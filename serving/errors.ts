// Every error the server answers with is one of these: a stable code, an HTTP status and a
// message that names what was wrong, so clients and logs can tell problems apart.

/** An error that maps to one HTTP answer. */
export class ServingError extends Error {
  /** Stable machine-readable code, e.g. SISKIN_INVALID_TENSOR. */
  readonly code: string;
  /** HTTP status the error is answered with. */
  readonly statusCode: number;
  /** Seconds a client should wait before retrying (503 answers only). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: string, statusCode: number, message: string, retryAfterSeconds?: number) {
    super(message);
    this.name = 'ServingError';
    this.code = code;
    this.statusCode = statusCode;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** The request body is not a well-formed inference request (bad JSON, bad binary header). */
export function malformedRequest(message: string): ServingError {
  return new ServingError('SISKIN_MALFORMED_REQUEST', 400, message);
}

/** A tensor does not match the model's signature (name, datatype, shape, element count, values). */
export function invalidTensor(message: string): ServingError {
  return new ServingError('SISKIN_INVALID_TENSOR', 400, message);
}

/** The named model is not served here. */
export function modelNotFound(name: string): ServingError {
  return new ServingError('SISKIN_MODEL_NOT_FOUND', 404, `model "${name}" is not served here`);
}

/** The model is served, but not at this version. */
export function versionNotFound(name: string, version: string): ServingError {
  return new ServingError('SISKIN_MODEL_NOT_FOUND', 404, `model "${name}" has no version "${version}"`);
}

/** The request body exceeds the configured limit. */
export function payloadTooLarge(limit: number): ServingError {
  return new ServingError('SISKIN_PAYLOAD_TOO_LARGE', 413, `request body exceeds the limit of ${limit} bytes`);
}

/** The bounded queue is full: shed load instead of building an unbounded backlog. */
export function overloaded(retryAfterSeconds: number): ServingError {
  return new ServingError('SISKIN_OVERLOADED', 503, 'inference queue is full, retry later', retryAfterSeconds);
}

/** The model is not ready (loading, warming up or shutting down). */
export function notReady(name: string): ServingError {
  return new ServingError('SISKIN_MODEL_NOT_READY', 503, `model "${name}" is not ready`, 1);
}

/** The data-quality circuit breaker is open: inputs have been garbage for a while. */
export function breakerOpen(badRatio: number): ServingError {
  return new ServingError(
    'SISKIN_DATA_QUALITY_BREAKER_OPEN',
    503,
    `data-quality breaker is open: ${(badRatio * 100).toFixed(1)}% of recent inputs were invalid`,
    5,
  );
}

/** Missing or wrong bearer token. */
export function unauthorized(): ServingError {
  return new ServingError('SISKIN_UNAUTHORIZED', 401, 'a valid bearer token is required');
}

/** A worker died, the server is shutting down, or onnxruntime failed for a reason of ours. */
export function inferenceFailed(message: string): ServingError {
  return new ServingError('SISKIN_INFERENCE_FAILED', 500, `inference failed: ${message}`);
}

/** A run that outlived the run timeout: its worker was terminated and replaced. */
export function runTimedOut(timeoutMs: number): ServingError {
  return new ServingError('SISKIN_RUN_TIMEOUT', 504, `inference did not finish within ${timeoutMs} ms; its worker was replaced`);
}

/** The worker pool cannot be restored: liveness fails so the pod is restarted. */
export function workersDead(reason: string): ServingError {
  return new ServingError('SISKIN_WORKERS_DEAD', 503, `no inference workers: ${reason}`);
}

/** The model refused inputs that fit its signature (a kernel's INVALID_ARGUMENT): the client's to fix. */
export function inputRejectedByModel(message: string): ServingError {
  return new ServingError('SISKIN_INPUT_REJECTED', 400, `the model rejected the input: ${message}`);
}

// onnxruntime-node hands over only an OrtStatus's message (its code, INVALID_ARGUMENT or
// FAIL, is lost in the binding), so the class is read from the message's shape. Inputs
// reaching a run already fit the signature and the model loaded, so a kernel that refuses
// them does so because of these inputs (a reflect Pad on a too-short sequence, a Reshape
// whose element count does not divide) — unless it ran out of memory, which is ours.
const REJECTED_INPUT = [
  /^Non-zero status code returned while running \S+ node\./,
  /^Invalid rank for input/,
  /^Got invalid dimensions for input/,
  /^Unexpected input data type/,
];
const OUR_FAULT = /alloc|out of memory/i;

/** Answers an onnxruntime run error: 400 when the model refused the input, else 500. */
export function runFailed(message: string): ServingError {
  const rejected = REJECTED_INPUT.some((re) => re.test(message)) && !OUR_FAULT.test(message);
  return rejected ? inputRejectedByModel(message) : inferenceFailed(message);
}

/** A model that could not be fetched, verified or loaded: the server never becomes ready. */
export class ModelLoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelLoadError';
  }
}
