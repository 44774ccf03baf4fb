// The reconciler's side of scale to zero: the activator's port for a model (kept in status,
// never shared), its listener opened or closed, whether it holds requests now, and what the
// EndpointSlices say — the facts plan() decides from.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { ModelDeploymentSpec, ModelDeploymentStatus } from '../api/schema.ts';
import { ENDPOINTSLICE_MANAGER, LABEL_SERVICE_NAME, LABEL_SLICE_MANAGED_BY } from '../resources/activatorSlice.ts';
import type { PlanInput } from './plan.ts';

/** What the reconciler asks of the activator (operator/activator/activator.ts). */
export interface ActivatorHandle {
  readonly address: string;
  portFor(key: string, recorded: number | undefined, recordedByOthers: ReadonlyMap<number, string>): { port: number } | { error: string };
  serve(key: string, port: number): Promise<void>;
  release(key: string): Promise<void>;
  demand(key: string): boolean;
}

/** The model may scale to zero, or is at zero or waking: it needs its activator port. */
export function needsActivator(spec: ModelDeploymentSpec, status: ModelDeploymentStatus): boolean {
  return spec.autoscaling?.minReplicas === 0 || (status.activation !== undefined && status.activation.state !== 'Active');
}

/** The ports other models' statuses record (a new leader learns every allocation from them). */
export function recordedPorts(models: readonly unknown[], key: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const m of models) {
    const o = m as { metadata?: { namespace?: string; name?: string }; status?: { activation?: { port?: unknown } } };
    const k = `${o.metadata?.namespace}/${o.metadata?.name}`;
    const port = o.status?.activation?.port;
    if (k !== key && typeof port === 'number') out.set(port, k);
  }
  return out;
}

/** Allocates and opens the model's activator port, or closes it when the model no longer needs one. */
export async function prepareActivator(
  activator: ActivatorHandle | undefined,
  key: string,
  md: { spec: ModelDeploymentSpec; status?: ModelDeploymentStatus | undefined },
  models: readonly unknown[],
): Promise<PlanInput['activator']> {
  if (!activator) return undefined;
  const status = md.status ?? {};
  if (!needsActivator(md.spec, status)) {
    await activator.release(key);
    return undefined;
  }
  const demand = activator.demand(key);
  const got = activator.portFor(key, status.activation?.port, recordedPorts(models, key));
  if ('error' in got) return { address: activator.address, portError: got.error, demand };
  try {
    await activator.serve(key, got.port);
  } catch (err) {
    return { address: activator.address, portError: `cannot listen on activator port ${got.port}: ${(err as Error).message}`, demand };
  }
  return { address: activator.address, port: got.port, demand };
}

/** From the model's EndpointSlices: the Services with a ready endpoint of their own, and the activator's slices that exist. */
export function observeSlices(slices: readonly V1EndpointSlice[]): Pick<PlanInput, 'servicesWithEndpoints' | 'activatorSlices'> {
  const ours = (s: V1EndpointSlice): boolean => s.metadata?.labels?.[LABEL_SLICE_MANAGED_BY] === ENDPOINTSLICE_MANAGER;
  const served = new Set<string>();
  for (const s of slices) {
    const svc = s.metadata?.labels?.[LABEL_SERVICE_NAME];
    if (svc && !ours(s) && (s.endpoints ?? []).some((e) => e.conditions?.ready !== false)) served.add(svc);
  }
  return { servicesWithEndpoints: [...served].sort(), activatorSlices: slices.filter(ours).map((s) => s.metadata!.name!) };
}
