// The GatewayAPI router: sets the weights of the stable and canary backendRefs in the user's
// HTTPRoute and nothing else; the route itself (parentRefs, hostnames, matches, filters,
// other rules) belongs to whoever wrote it, typically a GitOps tool.
//
// Why a JSON patch and not server-side apply. In the Gateway API CRDs (v1.4.1) `spec.rules`
// and each rule's `backendRefs` are `x-kubernetes-list-type: atomic`: field ownership stops
// at the list, and an apply must send the whole list. Applying "just the weights" would
// replace every rule with two bare backendRefs; applying the whole rule list with new weights
// conflicts with the GitOps manager and needs `force`, and echoes back matches and filters
// read a moment earlier, overwriting anyone who changed them in between. A separate field
// manager cannot isolate a weight inside an atomic list. So the router writes a JSON patch
// whose operations touch only `.../backendRefs/N/weight` (and append the canary backendRef
// when a rule lacks it), guarded by a `test` of the resourceVersion it read: the rule indexes
// it computed are the ones it patches, or the patch fails and is recomputed.
//
// What that leaves in managedFields: any change inside the atomic list moves ownership of
// `.spec.rules` (as a whole) to the manager `siskin-routing` (operation Update); the GitOps
// manager keeps parentRefs and hostnames. So when Argo CD or Flux re-syncs the route during a
// rollout: a server-side apply without force fails with a conflict on `.spec.rules`; Argo CD's
// and Flux's server-side applies force, and kubectl's client-side apply (Argo CD's default)
// replaces the list outright, so the weights go back to what Git says until Siskin's next
// reconcile sets them again (it re-asserts the whole desired state every time). Git should
// therefore hold the safe split: stable 100, canary 0 or absent (an omitted weight defaults
// to 1, which with both refs is 50/50). To stop the tug of war in Argo CD, ignore
// `.spec.rules[].backendRefs[].weight` (ignoreDifferences jqPathExpressions) with the
// RespectIgnoreDifferences=true sync option. At rest (canary weight 0 and Git at 100/0) the
// router writes nothing, so Git keeps sole ownership of the route.
//
// Header routes (setHeaderRoute steps; headerRoutes.ts) ride in the same patch: whole rules
// named `siskin-<md>.<route>` appended to the list, replaced or removed by index after the
// weight operations, under the same resourceVersion test. During a rollout Argo CD therefore
// also sees extra rules; ignore them with the jqPathExpression
// `.spec.rules[] | select(.name // "" | startswith("siskin-"))` next to the weights. A re-sync
// that drops them anyway is undone by the next reconcile, as for the weights; once the rollout
// ends the rules are gone and the list is again exactly what Git says.
//
// Weights are compared as shares, not numbers: Gateway API weights are relative, so 1/0 and
// 100/0 send the same traffic and neither is rewritten.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { withSignal } from '../runtime/abort.ts';
import { headerRuleOps } from './headerRoutes.ts';
import { refersTo, type BackendRef, type HttpRoute, type PatchOp } from './httpRoute.ts';
import type { RouteTarget, RouteWeights, Router } from './route.ts';
import { trafficSplit } from './split.ts';
import { apiErrorMessage } from '../runtime/apiErrors.ts';

const GROUP = 'gateway.networking.k8s.io';
const VERSION = 'v1';
const PLURAL = 'httproutes';
/** How often a patch whose route changed underneath it is recomputed before giving up. */
const ATTEMPTS = 3;

/** The field manager of the weight patches, so managedFields tell who last set the weights. */
export const ROUTING_FIELD_MANAGER = 'siskin-routing';

/** One rule that routes to the stable Service, and where its two backendRefs sit. */
interface SplitRule {
  index: number;
  stable: { index: number; weight: number };
  canary?: { index: number; weight: number };
}

/** The GatewayAPI router, acting with the given credentials; getRoutes reads back the split in place. */
export function gatewayApiRouter(kc: KubeConfig): Router & { getRoutes(t: RouteTarget): Promise<RouteWeights> } {
  const custom = kc.makeApiClient(CustomObjectsApi);

  const read = async (t: RouteTarget, signal?: AbortSignal): Promise<HttpRoute> => {
    const name = routeName(t);
    try {
      return (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: t.namespace, plural: PLURAL, name }, signal && withSignal(signal))) as HttpRoute;
    } catch (err) {
      throw apiError(t, 'reading', err);
    }
  };

  return {
    ...trafficSplit('GatewayAPI'),

    async getRoutes(t) {
      const first = splitRules(await read(t), t)[0]!;
      return percent(first.stable.weight, first.canary?.weight ?? 0);
    },

    async setRoutes(t, canaryWeight, signal, headerRoutes = []) {
      if (!Number.isInteger(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
        throw new RangeError(`canary weight must be an integer percentage 0..100, got ${canaryWeight}`);
      }
      const want = { stable: 100 - canaryWeight, canary: canaryWeight };
      let route = await read(t, signal);
      for (let attempt = 1; ; attempt++) {
        const split = splitRules(route, t);
        // Weights first: they address rules by the indexes just read, which the header rules'
        // replacements keep and their removals (from the end backwards) come after.
        const ops = [...weightOps(split, t, want), ...headerRuleOps(route.spec?.rules ?? [], split.map((r) => r.index), t, headerRoutes)];
        if (ops.length === 0) return;
        const rv = route.metadata.resourceVersion;
        try {
          await custom.patchNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            namespace: t.namespace,
            plural: PLURAL,
            name: routeName(t),
            body: [...(rv ? [{ op: 'test', path: '/metadata/resourceVersion', value: rv }] : []), ...ops],
            fieldManager: ROUTING_FIELD_MANAGER,
          }, signal && withSignal(signal));
          return;
        } catch (err) {
          if ((err as { code?: number }).code !== 422) throw apiError(t, 'patching', err);
          // A failed `test` is a 422, and so is an invalid value: only a route that moved on
          // since the read is worth recomputing.
          route = await read(t, signal);
          if (route.metadata.resourceVersion === rv) throw apiError(t, 'patching', err);
          if (attempt >= ATTEMPTS) {
            throw new Error(`HTTPRoute ${t.namespace}/${t.httpRoute} changed during each of ${ATTEMPTS} attempts to set its routes for ModelDeployment ${t.namespace}/${t.name}`, { cause: err });
          }
        }
      }
    },
  };
}

function routeName(t: RouteTarget): string {
  if (!t.httpRoute) throw new Error(`ModelDeployment ${t.namespace}/${t.name}: GatewayAPI traffic routing needs spec.rollout.trafficRouting.httpRoute`);
  return t.httpRoute;
}

function apiError(t: RouteTarget, doing: string, err: unknown): Error {
  const route = `HTTPRoute ${t.namespace}/${t.httpRoute}`;
  if ((err as { code?: number }).code === 404) {
    return new Error(`${route} not found: ModelDeployment ${t.namespace}/${t.name} routes its canary through it (spec.rollout.trafficRouting.httpRoute); create it or change the traffic routing`, { cause: err });
  }
  return new Error(`${doing} ${route} for ModelDeployment ${t.namespace}/${t.name}: ${apiErrorMessage(err)}`, { cause: err });
}

/** The weight the API server applies when none is given. */
function weightOf(ref: BackendRef): number {
  return ref.weight ?? 1;
}

/** Every rule that routes to the stable Service; refuses routes whose split would not be the one asked for. */
function splitRules(route: HttpRoute, t: RouteTarget): SplitRule[] {
  const where = `HTTPRoute ${t.namespace}/${t.httpRoute}`;
  const found: SplitRule[] = [];
  (route.spec?.rules ?? []).forEach((rule, i) => {
    const refs = rule.backendRefs ?? [];
    const idx = (service: string): number[] => refs.flatMap((r, j) => (refersTo(r, t.namespace, service) ? [j] : []));
    const stable = idx(t.stableService);
    if (stable.length === 0) return;
    const canary = idx(t.canaryService);
    if (stable.length > 1 || canary.length > 1) {
      throw new Error(`${where}: rule ${i} names the Service ${stable.length > 1 ? t.stableService : t.canaryService} in more than one backendRef; Siskin sets one weight per Service`);
    }
    // Another backend taking traffic in the same rule would make Siskin's weights something
    // other than the percentages the rollout promises.
    const others = refs.filter((r, j) => j !== stable[0] && j !== canary[0] && weightOf(r) > 0).map((r) => r.name);
    if (others.length > 0) {
      throw new Error(
        `${where}: rule ${i} also sends traffic to ${others.join(', ')}; a rule that routes to ${t.stableService} may route only to it and ${t.canaryService} (give other backends weight 0 or their own rule)`,
      );
    }
    found.push({
      index: i,
      stable: { index: stable[0]!, weight: weightOf(refs[stable[0]!]!) },
      ...(canary.length === 1 ? { canary: { index: canary[0]!, weight: weightOf(refs[canary[0]!]!) } } : {}),
    });
  });
  if (found.length === 0) {
    throw new Error(
      `${where} has no backendRef to the stable Service ${t.stableService}: ModelDeployment ${t.namespace}/${t.name} needs a rule whose backendRefs include ` +
        `{name: ${t.stableService}, port: ${t.port}, weight: 100} (and optionally {name: ${t.canaryService}, port: ${t.port}, weight: 0})`,
    );
  }
  return found;
}

/** Stored weights as percentages; no backend taking traffic is 0/0. */
function percent(stable: number, canary: number): RouteWeights {
  const total = stable + canary;
  if (total === 0) return { stable: 0, canary: 0 };
  const c = Math.round((canary * 100) / total);
  return { stable: 100 - c, canary: c };
}

/** The JSON patch operations that bring every split rule to the wanted shares; none when they already send them. */
function weightOps(rules: SplitRule[], t: RouteTarget, want: RouteWeights): PatchOp[] {
  const ops: PatchOp[] = [];
  for (const r of rules) {
    const stable = r.stable.weight;
    const canary = r.canary?.weight ?? 0;
    // Same shares by cross-multiplication: exact in integers, and 0/0 never equals a wanted split.
    if (stable + canary > 0 && stable * 100 === want.stable * (stable + canary)) continue;
    const refs = `/spec/rules/${r.index}/backendRefs`;
    // `add` on an object member sets it whether or not it is present.
    ops.push({ op: 'add', path: `${refs}/${r.stable.index}/weight`, value: want.stable });
    if (r.canary) ops.push({ op: 'add', path: `${refs}/${r.canary.index}/weight`, value: want.canary });
    else if (want.canary > 0) ops.push({ op: 'add', path: `${refs}/-`, value: { name: t.canaryService, port: t.port, weight: want.canary } });
  }
  return ops;
}
