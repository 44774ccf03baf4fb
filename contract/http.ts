// The serving runtime's HTTP surface as the operator addresses it: the port, the paths its
// probes, its scrape annotations and its schema gate use, and where a pod's files are mounted.
import { SERVING_DEFAULTS } from './servingEnv.ts';

/** The serving container's HTTP port (the runtime's default, which the operator also sets explicitly). */
export const SERVING_PORT = SERVING_DEFAULTS.port;

/** Liveness: 200 while the process serves HTTP at all. */
export const HEALTH_LIVE_PATH = '/v2/health/live';

/** Readiness: 200 once the model is loaded and warmed up. */
export const HEALTH_READY_PATH = '/v2/health/ready';

/** The Prometheus text exposition. */
export const METRICS_PATH = '/metrics';

/** Fastify route patterns of model metadata (GET); the answer is contract/modelMetadata.ts. */
export const MODEL_METADATA_ROUTES = ['/v2/models/:name', '/v2/models/:name/versions/:version'] as const;

/** Fastify route patterns of inference (POST); also the `route` label values of their metrics. */
export const INFER_ROUTES = ['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer'] as const;

/** The URL path of a model's metadata. */
export function modelMetadataPath(model: string): string {
  return `/v2/models/${encodeURIComponent(model)}`;
}

/** The URL path of a model's inference endpoint. */
export function inferPath(model: string): string {
  return `${modelMetadataPath(model)}/infer`;
}

/** Where the bearer-token Secret is mounted in a serving pod, and the key of its token file. */
export const AUTH_MOUNT_DIR = '/etc/siskin/auth';

/** The Secret key (and file name under AUTH_MOUNT_DIR) of the tokens, one per line. */
export const AUTH_TOKENS_KEY = 'tokens';

/** Where the peer-key Secret (operator-made, one per ModelDeployment) is mounted, and its key and file name. */
export const PEER_KEY_MOUNT_DIR = '/etc/siskin/peer';
export const PEER_KEY_KEY = 'key';

/** Fastify route pattern of feedback (POST). */
export const FEEDBACK_ROUTE = '/v2/models/:name/feedback';

/** The URL path of a model's feedback endpoint. */
export function feedbackPath(model: string): string {
  return `${modelMetadataPath(model)}/feedback`;
}

/** Answer header (and JSON parameters.feedback_id) carrying the id to post a prediction's label with. */
export const FEEDBACK_ID_HEADER = 'siskin-feedback-id';

/** Set on labels a replica forwards to the sibling that made the predictions: they are scored there, never forwarded again. */
export const FEEDBACK_FORWARDED_HEADER = 'siskin-feedback-forwarded';
