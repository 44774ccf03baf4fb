// The activator's EndpointSlices, derived from the decided context: while the model is at zero
// or waking, the Services over all revisions and over stable point at the activator; after it
// woke, each slice stays until its Service has a ready endpoint of its own, so no request
// meets a Service with no endpoint while the EndpointSlice controller catches up.
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { viaActivator } from '../../autoscaling/scaleToZero.ts';
import { activatorSlice, activatorSliceName } from '../../resources/activatorSlice.ts';
import { serviceNames } from '../../resources/labels.ts';
import type { PlanContext } from './context.ts';

/** The Services a model at zero routes through the activator (the canary Service follows no traffic then). */
export function activatedServices(name: string): string[] {
  const names = serviceNames(name);
  return [names.all, names.stable];
}

/**
 * The Services point at the activator now: selector-less, the activator's slices their
 * endpoints. Not while a pod of the model is terminating: the EndpointSlice controller stops
 * maintaining a Service without a selector, so its slice would keep a gone pod as an endpoint
 * for good. Meanwhile the activator's slice is already there beside the draining pods.
 */
export function servicesViaActivator(ctx: PlanContext): boolean {
  const draining = (ctx.input.pods ?? []).some((p) => p.deleting);
  return viaActivator(ctx.activation) && ctx.input.activator?.port !== undefined && !draining;
}

/** The activator's EndpointSlices that should exist; owned ones not listed go. */
export function activatorSlices(ctx: PlanContext): V1EndpointSlice[] {
  const { input } = ctx;
  const a = input.activator;
  if (a?.port === undefined) return [];
  const target = { address: a.address, port: a.port };
  const services = activatedServices(input.owner.name);
  if (viaActivator(ctx.activation)) return services.map((svc) => activatorSlice(input.owner, svc, target));
  const existing = input.activatorSlices ?? [];
  const served = input.servicesWithEndpoints ?? [];
  return services.filter((svc) => existing.includes(activatorSliceName(svc)) && !served.includes(svc)).map((svc) => activatorSlice(input.owner, svc, target));
}
