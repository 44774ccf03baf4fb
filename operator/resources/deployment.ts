// Pure builder of one revision's serving Deployment. Deterministic: the same spec gives
// the same object byte for byte (no timestamps, no random values), so re-applying it never
// restarts pods, and the pod template carries no stable/canary role, so promotion doesn't either.
import type { V1Deployment, V1EnvVar, V1OwnerReference, V1Probe, V1ResourceRequirements, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ModelDeploymentSpec } from '../api/schema.ts';
import { GROUP, KIND, VERSION } from '../api/schema.ts';
import { ENTRY_POINTS } from './image.ts';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION, READINESS_GATE, commonLabels, revisionDeploymentName } from './labels.ts';

/** The identity of the ModelDeployment that owns what is built. */
export interface Owner {
  name: string;
  namespace: string;
  uid: string;
}

/** The serving container's HTTP port. */
export const SERVING_PORT = 8080;
const MODELS_DIR = '/models';
const ROUTING_DIR = '/etc/siskin/routing';
const AUTH_DIR = '/etc/siskin/auth';

/** The owner reference every owned object carries: deletion garbage-collects it. */
export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** Name of the ConfigMap holding the shadow-routing file, mounted into every serving pod. */
export function routingConfigMapName(mdName: string): string {
  return `${mdName}-routing`;
}

/**
 * Where a model URI is read from inside the pod: pvc://claim/path becomes a file under a
 * mounted claim; other URIs pass through. Returns the volumes the pod then needs.
 */
export function resolveModelUri(uri: string, purpose: 'model' | 'profile'): { uri: string; volumes: V1Volume[]; mounts: V1VolumeMount[] } {
  const m = /^pvc:\/\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/(.+)$/.exec(uri);
  if (!m) return { uri, volumes: [], mounts: [] };
  const claim = m[1]!;
  const volume = `${purpose}-${claim}`.slice(0, 63).replace(/-+$/, '');
  const mountPath = `${MODELS_DIR}/${purpose}/${claim}`;
  return {
    uri: `file://${mountPath}/${m[3]!}`,
    volumes: [{ name: volume, persistentVolumeClaim: { claimName: claim, readOnly: true } }],
    mounts: [{ name: volume, mountPath, readOnly: true }],
  };
}

/** Quantities as the API expects them: strings ("500m", "2"). */
function resourceRequirements(r: NonNullable<ModelDeploymentSpec['serving']['resources']>): V1ResourceRequirements {
  const strings = (m: Record<string, string | number> | undefined): Record<string, string> | undefined =>
    m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)])) : undefined;
  const requests = strings(r.requests);
  const limits = strings(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

/** Builds the Deployment of one revision with the given replica count. */
export function servingDeployment(
  owner: Owner,
  spec: ModelDeploymentSpec,
  revision: string,
  replicas: number,
  opts: { defaultImage: string },
): V1Deployment {
  const model = resolveModelUri(spec.model.uri, 'model');
  const profile = spec.model.referenceProfile ? resolveModelUri(spec.model.referenceProfile.uri, 'profile') : undefined;
  const serving = spec.serving;
  const env: V1EnvVar[] = [
    { name: 'SISKIN_MODEL_NAME', value: spec.model.name ?? owner.name },
    { name: 'SISKIN_MODEL_URI', value: model.uri },
    ...(spec.model.sha256 ? [{ name: 'SISKIN_MODEL_SHA256', value: spec.model.sha256 }] : []),
    { name: 'SISKIN_MODEL_REVISION', value: revision },
    { name: 'SISKIN_HOST', value: '0.0.0.0' },
    { name: 'SISKIN_PORT', value: String(SERVING_PORT) },
    { name: 'SISKIN_WORKERS', value: String(serving.workers) },
    { name: 'SISKIN_INTRA_OP_THREADS', value: String(serving.intraOpThreads) },
    { name: 'SISKIN_BATCH_MAX_SIZE', value: String(serving.batching?.enabled ? serving.batching.maxBatchSize : 1) },
    ...(serving.batching?.enabled ? [{ name: 'SISKIN_BATCH_MAX_DELAY_MS', value: String(serving.batching.maxDelayMs) }] : []),
    { name: 'SISKIN_WARMUP', value: String(serving.warmup?.requests ?? 5) },
    { name: 'SISKIN_PAYLOAD_LOG_SAMPLE_RATE', value: String(serving.payloadLogSampleRate) },
    { name: 'SISKIN_ROUTING_FILE', value: `${ROUTING_DIR}/routing.json` },
    ...(profile && profile.uri.startsWith('file://') ? [{ name: 'SISKIN_REFERENCE_PROFILE', value: profile.uri.slice('file://'.length) }] : []),
    ...(serving.auth ? [{ name: 'SISKIN_AUTH_TOKEN_FILE', value: `${AUTH_DIR}/tokens` }] : []),
  ];
  const volumes: V1Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'routing', configMap: { name: routingConfigMapName(owner.name), optional: true } },
    ...model.volumes,
    ...(profile?.volumes.filter((v) => !model.volumes.some((m) => m.name === v.name)) ?? []),
    ...(serving.auth ? [{ name: 'auth', secret: { secretName: serving.auth.secretName, items: [{ key: 'tokens', path: 'tokens' }] } }] : []),
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'routing', mountPath: ROUTING_DIR, readOnly: true },
    ...model.mounts,
    ...(profile?.mounts ?? []),
    ...(serving.auth ? [{ name: 'auth', mountPath: AUTH_DIR, readOnly: true }] : []),
  ];
  const selector = { [LABEL_MODEL_DEPLOYMENT]: owner.name, [LABEL_REVISION]: revision };
  const probe = (path: string, period: number): V1Probe => ({ httpGet: { path, port: 'http' }, periodSeconds: period, timeoutSeconds: 2 });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: revisionDeploymentName(owner.name, revision),
      namespace: owner.namespace,
      labels: { ...commonLabels(owner.name), [LABEL_REVISION]: revision },
      annotations: { 'siskin.dev/model-version': spec.model.version },
      ownerReferences: [ownerReference(owner)],
    },
    spec: {
      replicas,
      revisionHistoryLimit: 1,
      selector: { matchLabels: selector },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { ...commonLabels(owner.name), [LABEL_REVISION]: revision },
          annotations: {
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(SERVING_PORT),
            'prometheus.io/path': '/metrics',
            'siskin.dev/model-version': spec.model.version,
          },
        },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 30,
          // Ready needs the operator's admission too: a canary takes no Service traffic until
          // its schema gate passed, and leaves the endpoints the moment a rollback is decided.
          readinessGates: [{ conditionType: READINESS_GATE }],
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: 'serving',
              image: serving.image ?? opts.defaultImage,
              imagePullPolicy: 'IfNotPresent',
              args: [ENTRY_POINTS.serving.bundle],
              ports: [{ name: 'http', containerPort: SERVING_PORT, protocol: 'TCP' }],
              env,
              ...(serving.resources ? { resources: resourceRequirements(serving.resources) } : {}),
              readinessProbe: probe('/v2/health/ready', 2),
              livenessProbe: { ...probe('/v2/health/live', 10), failureThreshold: 6 },
              startupProbe: { ...probe('/v2/health/live', 2), failureThreshold: 150 },
              // Endpoints drop a terminating pod asynchronously (EndpointSlice, then every
              // kube-proxy): keep accepting for a moment so no new connection meets a closed port.
              lifecycle: { preStop: { sleep: { seconds: 5 } } },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: mounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}
