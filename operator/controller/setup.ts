// Wires the ModelDeployment reconciler into the manager: informers over ModelDeployments, the
// Deployments, Services, ConfigMaps and PodDisruptionBudgets they own (mapped to their owner by owner reference) and
// their serving pods (mapped by label), one controller. The reconciler and its informers are
// built in one place, buildModelDeploymentReconciler, which the tests use too: the reconciler
// they exercise is the one that ships.
import { podAsObserved, withoutManagedFields } from './cacheShape.ts';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  PolicyV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1EndpointSlice,
  type V1Pod,
  type V1PodDisruptionBudget,
  type V1Service,
} from '@kubernetes/client-node';
import type { Registry } from 'prom-client';
import { SERVING_PORT } from '../../contract/http.ts';
import { Activator } from '../activator/activator.ts';
import { GROUP, KIND, PLURAL, VERSION } from '../api/schema.ts';
import { LABEL_MODEL_DEPLOYMENT } from '../resources/labels.ts';
import type { OperatorConfig } from '../runtime/config.ts';
import { Controller } from '../runtime/controller.ts';
import { Informer, resourcePath } from '../runtime/informer.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Manager } from '../runtime/manager.ts';
import type { OperatorMetrics } from '../runtime/metrics.ts';
import { enqueueControllerOwner } from '../runtime/ownerRefs.ts';
import type { Reconciler } from '../runtime/reconcile.ts';
import { ModelDeploymentMetrics } from './metrics.ts';
import type { ReconcilerCache } from './observe.ts';
import { makeReconciler } from './reconcile.ts';

/** The controller's name in logs and metrics. */
export const CONTROLLER_NAME = 'modeldeployment';

/** The informers the reconciler reads from; start them (and wait for sync) before reconciling. */
export interface ModelDeploymentInformers {
  modelDeployments: Informer<KubernetesObject>;
  deployments: Informer<V1Deployment>;
  services: Informer<V1Service>;
  configMaps: Informer<V1ConfigMap>;
  pods: Informer<V1Pod>;
  disruptionBudgets: Informer<V1PodDisruptionBudget>;
  endpointSlices: Informer<V1EndpointSlice>;
}

/** Settings of buildModelDeploymentReconciler. */
export interface ModelDeploymentReconcilerOptions {
  kubeConfig: KubeConfig;
  /** Watch one namespace only; all when absent. */
  watchNamespace?: string;
  logger?: Logger;
  defaultImage: string;
  defaultPrometheusAddress?: string;
  /** The other Prometheus addresses a spec may name (the operator's allow-list). */
  allowedPrometheusAddresses?: readonly string[];
  metrics?: ModelDeploymentMetrics;
  /** Injected for tests of time-based steps; Date.now otherwise. */
  now?: () => number;
  /** Scale to zero's activator (SISKIN_ACTIVATOR_*); without it no model scales to zero. */
  activator?: NonNullable<OperatorConfig['activator']> & { host?: string };
  /** The registry the activator's metrics join. */
  registry?: Registry;
}

/** The ModelDeployment reconciler and the informers it reads from. */
export interface ModelDeploymentReconciler {
  reconcile: Reconciler;
  informers: ModelDeploymentInformers;
  /** The activator, when configured: stop it on shutdown; onWake says which key to enqueue. */
  activator?: Activator;
  /** Sets where a wake-up goes (the controller's queue); until then it is dropped. */
  onWake(enqueue: (key: string) => void): void;
}

/** Builds the informers and the reconciler over their caches, exactly as the operator runs them. */
export function buildModelDeploymentReconciler(opts: ModelDeploymentReconcilerOptions): ModelDeploymentReconciler {
  const informers = modelDeploymentInformers(opts.kubeConfig, opts.watchNamespace, opts.logger);
  let enqueue: (key: string) => void = () => undefined;
  const activator = opts.activator
    ? new Activator({
        ...(opts.activator.host ? { host: opts.activator.host } : {}),
        address: opts.activator.address,
        ports: opts.activator.ports,
        limits: { holdTimeoutMs: opts.activator.holdTimeoutMs },
        readyPod: readyPodOf(informers.pods),
        wake: (key) => enqueue(key),
        ...(opts.registry ? { registry: opts.registry } : {}),
        ...(opts.logger ? { logger: opts.logger } : {}),
      })
    : undefined;
  const reconcile = makeReconciler({
    ...(activator ? { activator } : {}),
    kubeConfig: opts.kubeConfig,
    cache: cacheOf(informers),
    defaultImage: opts.defaultImage,
    ...(opts.defaultPrometheusAddress !== undefined ? { defaultPrometheusAddress: opts.defaultPrometheusAddress } : {}),
    ...(opts.allowedPrometheusAddresses ? { allowedPrometheusAddresses: opts.allowedPrometheusAddresses } : {}),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.now ? { now: opts.now } : {}),
  });
  return { reconcile, informers, ...(activator ? { activator } : {}), onWake: (f) => void (enqueue = f) };
}

/** A Ready pod of a model ("namespace/name"), in turn: where the activator forwards held requests. */
function readyPodOf(pods: Informer<V1Pod>): (key: string) => { ip: string; port: number } | undefined {
  let turn = 0;
  return (key) => {
    const [namespace, name] = key.split('/') as [string, string];
    const ready = pods
      .list(namespace)
      .filter((p) => p.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name && !p.metadata?.deletionTimestamp && p.status?.podIP)
      .filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
    if (ready.length === 0) return undefined;
    turn = (turn + 1) % ready.length;
    return { ip: ready[turn]!.status!.podIP!, port: SERVING_PORT };
  };
}

/** Adds the ModelDeployment controller and its informers to the manager. */
export function addModelDeploymentController(manager: Manager, opts: { kubeConfig: KubeConfig; config: OperatorConfig; logger: Logger }): Controller {
  const { config, logger } = opts;
  const built = buildModelDeploymentReconciler({
    kubeConfig: opts.kubeConfig,
    ...(config.watchNamespace ? { watchNamespace: config.watchNamespace } : {}),
    logger,
    defaultImage: config.defaultServingImage,
    ...(config.defaultPrometheusAddress !== undefined ? { defaultPrometheusAddress: config.defaultPrometheusAddress } : {}),
    allowedPrometheusAddresses: config.allowedPrometheusAddresses,
    metrics: new ModelDeploymentMetrics(manager.metrics.registry),
    ...(config.activator ? { activator: config.activator, registry: manager.metrics.registry } : {}),
  });
  const controller = modelDeploymentController(built, { maxConcurrentReconciles: config.maxConcurrentReconciles, logger, metrics: manager.metrics });
  const activator = built.activator;
  if (activator) manager.onStop(() => activator.stop());
  const { informers } = built;
  for (const informer of Object.values(informers) as Informer<KubernetesObject>[]) manager.addInformer(informer);
  manager.addController(controller);
  return controller;
}

/** The controller over a built reconciler: its watches (owned objects by owner, pods and slices by label) and the activator's wake-ups. */
export function modelDeploymentController(built: ModelDeploymentReconciler, opts: { maxConcurrentReconciles?: number; logger?: Logger; metrics?: OperatorMetrics }): Controller {
  const { reconcile, informers } = built;
  const toOwner = enqueueControllerOwner({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND });
  const controller = new Controller({ name: CONTROLLER_NAME, reconcile, ...opts })
    .watch(informers.modelDeployments)
    .watch(informers.deployments, toOwner)
    .watch(informers.services, toOwner)
    .watch(informers.configMaps, toOwner)
    .watch(informers.disruptionBudgets, toOwner)
    // The EndpointSlice controller's slices carry the Services' labels (owned by the Service, not the model).
    .watch(informers.endpointSlices, byModelLabel)
    // Pods belong to ReplicaSets: they map to their ModelDeployment by label.
    .watch(informers.pods, byModelLabel);
  built.onWake((key) => controller.enqueue(key));
  return controller;
}

/** The ModelDeployment an object is labelled for. */
function byModelLabel(o: KubernetesObject): string | undefined {
  const md = o.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT];
  return md && o.metadata?.namespace ? `${o.metadata.namespace}/${md}` : undefined;
}

/** The informers over ModelDeployments and the objects the operator labels as theirs. */
function modelDeploymentInformers(kc: KubeConfig, ns: string | undefined, logger: Logger | undefined): ModelDeploymentInformers {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const policy = kc.makeApiClient(PolicyV1Api);
  const discovery = kc.makeApiClient(DiscoveryV1Api);
  const at = ns ? { namespace: ns } : {};
  const modelDeployments = new Informer<KubernetesObject>({
    kubeConfig: kc,
    ...(logger ? { logger } : {}),
    transform: withoutManagedFields,
    path: resourcePath({ apiVersion: `${GROUP}/${VERSION}`, plural: PLURAL, ...at }),
    list: async () =>
      (ns
        ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
        : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as KubernetesListObject<KubernetesObject>,
  });
  // Only objects the operator labels are watched: a cluster's other Deployments, Services,
  // ConfigMaps and pods cost nothing.
  const byLabel = { labelSelector: LABEL_MODEL_DEPLOYMENT };
  const owned = <T extends KubernetesObject>(apiVersion: string, plural: string, list: () => Promise<KubernetesListObject<T>>, transform: (o: T) => T = withoutManagedFields): Informer<T> =>
    new Informer<T>({ kubeConfig: kc, ...(logger ? { logger } : {}), labelSelector: LABEL_MODEL_DEPLOYMENT, path: resourcePath({ apiVersion, plural, ...at }), list, transform });
  return {
    modelDeployments,
    deployments: owned<V1Deployment>('apps/v1', 'deployments', () => (ns ? apps.listNamespacedDeployment({ namespace: ns, ...byLabel }) : apps.listDeploymentForAllNamespaces(byLabel))),
    services: owned<V1Service>('v1', 'services', () => (ns ? core.listNamespacedService({ namespace: ns, ...byLabel }) : core.listServiceForAllNamespaces(byLabel))),
    configMaps: owned<V1ConfigMap>('v1', 'configmaps', () => (ns ? core.listNamespacedConfigMap({ namespace: ns, ...byLabel }) : core.listConfigMapForAllNamespaces(byLabel))),
    pods: owned<V1Pod>('v1', 'pods', () => (ns ? core.listNamespacedPod({ namespace: ns, ...byLabel }) : core.listPodForAllNamespaces(byLabel)), podAsObserved),
    disruptionBudgets: owned<V1PodDisruptionBudget>('policy/v1', 'poddisruptionbudgets', () =>
      ns ? policy.listNamespacedPodDisruptionBudget({ namespace: ns, ...byLabel }) : policy.listPodDisruptionBudgetForAllNamespaces(byLabel),
    ),
    endpointSlices: owned<V1EndpointSlice>('discovery.k8s.io/v1', 'endpointslices', () =>
      ns ? discovery.listNamespacedEndpointSlice({ namespace: ns, ...byLabel }) : discovery.listEndpointSliceForAllNamespaces(byLabel),
    ),
  };
}

/** The reconciler's read path over the informers' caches. */
function cacheOf(i: ModelDeploymentInformers): ReconcilerCache {
  const ofModel = <T extends KubernetesObject>(items: readonly T[], name: string): T[] => items.filter((o) => o.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name);
  return {
    getModelDeployment: (namespace, name) => i.modelDeployments.get(name, namespace),
    listDeployments: (namespace, name) => ofModel(i.deployments.list(namespace), name),
    getService: (namespace, name) => i.services.get(name, namespace),
    getConfigMap: (namespace, name) => i.configMaps.get(name, namespace),
    listPods: (namespace, name) => ofModel(i.pods.list(namespace), name),
    listDisruptionBudgets: (namespace, name) => ofModel(i.disruptionBudgets.list(namespace), name),
    listEndpointSlices: (namespace, name) => ofModel(i.endpointSlices.list(namespace), name),
    listModelDeployments: () => i.modelDeployments.list(),
  };
}
