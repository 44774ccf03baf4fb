// Pure builder of one revision's serving Deployment. Deterministic: the same spec gives
// the same object byte for byte (no timestamps, no random values), so re-applying it never
// restarts pods, and the pod template carries no stable/canary role, so promotion doesn't either.
import type { V1Deployment, V1EnvVar, V1OwnerReference, V1Probe, V1ResourceRequirements, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { ModelDeploymentSpec } from '../api/schema.ts';
import { GROUP, KIND, VERSION } from '../api/schema.ts';
import { AUTH_MOUNT_DIR, AUTH_TOKENS_KEY, HEALTH_LIVE_PATH, HEALTH_READY_PATH, METRICS_PATH, PEER_KEY_KEY, PEER_KEY_MOUNT_DIR, SERVING_PORT } from '../../contract/http.ts';
import { ROUTING_FILE_PATH, ROUTING_MOUNT_DIR } from '../../contract/routing.ts';
import { SERVING_DEFAULTS, SERVING_ENV, servingEnvVars, type ServingEnvInput } from '../../contract/servingEnv.ts';
import { ENTRY_POINTS } from './image.ts';
import { LABEL_MODEL_DEPLOYMENT, LABEL_REVISION, READINESS_GATE, commonLabels, revisionDeploymentName } from './labels.ts';

/** The identity of the ModelDeployment that owns what is built. */
export interface Owner {
  name: string;
  namespace: string;
  uid: string;
}

const MODELS_DIR = '/models';

/** The owner reference every owned object carries: deletion garbage-collects it. */
export function ownerReference(owner: Owner): V1OwnerReference {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: KIND, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true };
}

/** Name of the Secret holding the key the serving replicas of one ModelDeployment share (feedback ids). */
export function peerKeySecretName(mdName: string): string {
  return `${mdName}-peer-key`;
}

/**
 * The peer-key Secret: random, so it is created once (never applied again) and immutable.
 * Its key signs the replica address in feedback ids (serving/quality/feedbackIds.ts).
 */
export function peerKeySecret(owner: Owner, key: Buffer): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: peerKeySecretName(owner.name), namespace: owner.namespace, labels: commonLabels(owner.name), ownerReferences: [ownerReference(owner)] },
    type: 'Opaque',
    immutable: true,
    data: { [PEER_KEY_KEY]: key.toString('base64') },
  };
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

/**
 * What the serving container is told, as typed settings: contract/servingEnv.ts turns them
 * into environment variables the serving runtime loads with the same schema.
 */
export function servingSettings(owner: Owner, spec: ModelDeploymentSpec, revision: string, modelUri: string, profileUri: string | undefined): ServingEnvInput {
  const serving = spec.serving;
  const batching = serving.batching?.enabled ? serving.batching : undefined;
  return {
    modelName: spec.model.name ?? owner.name,
    modelUri,
    ...(spec.model.sha256 ? { modelSha256: spec.model.sha256 } : {}),
    revision,
    host: '0.0.0.0',
    port: SERVING_PORT,
    workers: serving.workers,
    intraOpThreads: serving.intraOpThreads,
    // Batching off is a batch of one, not the runtime's default batch size.
    batchMaxSize: batching ? batching.maxBatchSize : 1,
    ...(batching ? { batchMaxDelayMs: batching.maxDelayMs } : {}),
    warmup: serving.warmup?.requests ?? SERVING_DEFAULTS.warmup,
    ...(serving.warmup?.inputs ? { warmupInputs: serving.warmup.inputs } : {}),
    payloadLogSampleRate: serving.payloadLogSampleRate,
    routingFile: ROUTING_FILE_PATH,
    // Only a mounted profile is a file the runtime can read.
    ...(profileUri?.startsWith('file://') ? { referenceProfile: profileUri.slice('file://'.length) } : {}),
    ...(serving.auth ? { authTokenFile: `${AUTH_MOUNT_DIR}/${AUTH_TOKENS_KEY}` } : {}),
    peerKeyFile: `${PEER_KEY_MOUNT_DIR}/${PEER_KEY_KEY}`,
  };
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
    ...servingEnvVars(servingSettings(owner, spec, revision, model.uri, profile?.uri)),
    // Known only to the pod: feedback ids name it, so a sibling can forward labels back.
    { name: SERVING_ENV.podIp, valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
  ];
  const volumes: V1Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
    { name: 'routing', configMap: { name: routingConfigMapName(owner.name), optional: true } },
    ...model.volumes,
    ...(profile?.volumes.filter((v) => !model.volumes.some((m) => m.name === v.name)) ?? []),
    ...(serving.auth ? [{ name: 'auth', secret: { secretName: serving.auth.secretName, items: [{ key: AUTH_TOKENS_KEY, path: AUTH_TOKENS_KEY }] } }] : []),
    // Optional: a pod never waits for it (without it, labels are scored where they arrive).
    { name: 'peer-key', secret: { secretName: peerKeySecretName(owner.name), optional: true, items: [{ key: PEER_KEY_KEY, path: PEER_KEY_KEY }] } },
  ];
  const mounts: V1VolumeMount[] = [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'routing', mountPath: ROUTING_MOUNT_DIR, readOnly: true },
    ...model.mounts,
    ...(profile?.mounts ?? []),
    ...(serving.auth ? [{ name: 'auth', mountPath: AUTH_MOUNT_DIR, readOnly: true }] : []),
    { name: 'peer-key', mountPath: PEER_KEY_MOUNT_DIR, readOnly: true },
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
            'prometheus.io/path': METRICS_PATH,
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
          // Replicas spread over nodes and zones where the cluster allows it, never left
          // unscheduled for it: one node or zone lost takes as few of them as it can.
          topologySpreadConstraints: ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'].map((topologyKey) => ({
            maxSkew: 1,
            topologyKey,
            whenUnsatisfiable: 'ScheduleAnyway',
            labelSelector: { matchLabels: selector },
          })),
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
              readinessProbe: probe(HEALTH_READY_PATH, 2),
              livenessProbe: { ...probe(HEALTH_LIVE_PATH, 10), failureThreshold: 6 },
              startupProbe: { ...probe(HEALTH_LIVE_PATH, 2), failureThreshold: 150 },
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
