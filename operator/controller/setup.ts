// Wires the ModelDeployment reconciler into the manager: informers over ModelDeployments, the
// Deployments, Services and ConfigMaps they own (mapped to their owner by owner reference) and
// their serving pods (mapped by label), one controller.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1ConfigMap,
  type V1Deployment,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { GROUP, KIND, PLURAL, VERSION } from '../api/schema.ts';
import { LABEL_MODEL_DEPLOYMENT } from '../resources/labels.ts';
import type { OperatorConfig } from '../runtime/config.ts';
import { Controller } from '../runtime/controller.ts';
import { Informer, resourcePath } from '../runtime/informer.ts';
import type { Logger } from '../runtime/logger.ts';
import type { Manager } from '../runtime/manager.ts';
import { enqueueControllerOwner } from '../runtime/ownerRefs.ts';
import { ModelDeploymentMetrics } from './metrics.ts';
import { makeReconciler } from './reconcile.ts';

/** The controller's name in logs and metrics. */
export const CONTROLLER_NAME = 'modeldeployment';

/** Adds the ModelDeployment controller and its informers to the manager. */
export function addModelDeploymentController(manager: Manager, opts: { kubeConfig: KubeConfig; config: OperatorConfig; logger: Logger }): Controller {
  const { kubeConfig: kc, config, logger } = opts;
  const ns = config.watchNamespace;
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  // Only objects the operator labels are watched: a cluster's other Deployments, Services,
  // ConfigMaps and pods cost nothing.
  const owned = LABEL_MODEL_DEPLOYMENT;

  const mds = new Informer<KubernetesObject>({
    kubeConfig: kc,
    logger,
    path: resourcePath({ apiVersion: `${GROUP}/${VERSION}`, plural: PLURAL, ...(ns ? { namespace: ns } : {}) }),
    list: async () =>
      (ns
        ? await custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
        : await custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as KubernetesListObject<KubernetesObject>,
  });
  const ownedInformer = <T extends KubernetesObject>(apiVersion: string, plural: string, list: () => Promise<KubernetesListObject<T>>): Informer<T> =>
    new Informer<T>({ kubeConfig: kc, logger, labelSelector: owned, path: resourcePath({ apiVersion, plural, ...(ns ? { namespace: ns } : {}) }), list });
  const byLabel = { labelSelector: owned };
  const deployments = ownedInformer<V1Deployment>('apps/v1', 'deployments', () =>
    ns ? apps.listNamespacedDeployment({ namespace: ns, ...byLabel }) : apps.listDeploymentForAllNamespaces(byLabel),
  );
  const services = ownedInformer<V1Service>('v1', 'services', () => (ns ? core.listNamespacedService({ namespace: ns, ...byLabel }) : core.listServiceForAllNamespaces(byLabel)));
  const pods = ownedInformer<V1Pod>('v1', 'pods', () => (ns ? core.listNamespacedPod({ namespace: ns, ...byLabel }) : core.listPodForAllNamespaces(byLabel)));
  const configMaps = ownedInformer<V1ConfigMap>('v1', 'configmaps', () =>
    ns ? core.listNamespacedConfigMap({ namespace: ns, ...byLabel }) : core.listConfigMapForAllNamespaces(byLabel),
  );

  const reconcile = makeReconciler({
    kubeConfig: kc,
    metrics: new ModelDeploymentMetrics(manager.metrics.registry),
    defaultImage: config.defaultServingImage,
    defaultPrometheusAddress: config.defaultPrometheusAddress,
    // Reconciles read the informers' caches: no GET or LIST per reconcile.
    cache: {
      getModelDeployment: (namespace, name) => mds.get(name, namespace),
      listDeployments: (namespace, name) => deployments.list(namespace).filter((d) => d.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name),
      getService: (namespace, name) => services.get(name, namespace),
      getConfigMap: (namespace, name) => configMaps.get(name, namespace),
      listPods: (namespace, name) => pods.list(namespace).filter((p) => p.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT] === name),
    },
  });
  const toOwner = enqueueControllerOwner({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND });
  const controller = new Controller({
    name: CONTROLLER_NAME,
    maxConcurrentReconciles: config.maxConcurrentReconciles,
    logger,
    metrics: manager.metrics,
    reconcile: async (key) => {
      const r = await reconcile(key);
      // "Again right away" (a step just advanced) is a 1 ms wait: the queue's follow-up, not a loop here.
      return r.requeueAfterMs === undefined ? {} : { requeueAfter: Math.max(1, r.requeueAfterMs) };
    },
  })
    .watch(mds)
    .watch(deployments, toOwner)
    .watch(services, toOwner)
    .watch(configMaps, toOwner)
    // Pods belong to ReplicaSets: they map to their ModelDeployment by label.
    .watch(pods, (p) => {
      const md = p.metadata?.labels?.[LABEL_MODEL_DEPLOYMENT];
      return md && p.metadata?.namespace ? `${p.metadata.namespace}/${md}` : undefined;
    });
  manager.addInformer(mds).addInformer(deployments).addInformer(services).addInformer(configMaps).addInformer(pods).addController(controller);
  return controller;
}
