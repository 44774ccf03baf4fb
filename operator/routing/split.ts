// How a canary weight becomes traffic, as pure functions per traffic routing type: replica
// counts of the stable and canary Deployments and, where a route splits traffic, the route's
// weight. The plan asks the split of the spec's routing type and never branches on the type;
// the routers (router.ts) put a route weight in place.
import type { ModelDeploymentSpec } from '../api/schema.ts';

/** Replica counts for a weight, and the weight they really give. */
export interface ReplicaSplit {
  stable: number;
  canary: number;
  /** The share of pods that are canary, in percent: what replica ratio can actually deliver. */
  effectiveWeight: number;
}

/**
 * Splits total replicas by a canary weight (0–100). The canary gets at least one pod at any
 * weight above 0, and the stable revision keeps at least one pod until the weight reaches
 * 100 — with few replicas, the effective weight is coarser than asked, never zero-stable.
 */
export function splitReplicas(total: number, weight: number): ReplicaSplit {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total replicas must be a non-negative integer, got ${total}`);
  if (!(weight >= 0 && weight <= 100)) throw new RangeError(`weight must be within 0–100, got ${weight}`);
  if (total === 0) return { stable: 0, canary: 0, effectiveWeight: 0 };
  if (weight === 0) return { stable: total, canary: 0, effectiveWeight: 0 };
  if (weight === 100) return { stable: 0, canary: total, effectiveWeight: 100 };
  const canary = Math.max(1, Math.round((total * weight) / 100));
  const stable = Math.max(1, total - canary);
  return { stable, canary, effectiveWeight: Math.round((100 * canary) / (canary + stable)) };
}

/**
 * Replica counts when a Gateway API route splits traffic by weight: the stable revision keeps
 * its full size (a rollback needs no scale-up), and the canary gets enough pods for its share
 * — at least one while a rollout runs, so the schema gate can read it before any traffic.
 */
export function gatewaySplit(total: number, weight: number): ReplicaSplit {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total replicas must be a non-negative integer, got ${total}`);
  if (!(weight >= 0 && weight <= 100)) throw new RangeError(`weight must be within 0–100, got ${weight}`);
  if (total === 0) return { stable: 0, canary: 0, effectiveWeight: 0 };
  return { stable: total, canary: Math.max(1, Math.ceil((total * weight) / 100)), effectiveWeight: weight };
}

/**
 * Replica counts during a shadow step (a dark launch), for every routing type: the canary takes
 * no client traffic, only the mirrored share of stable's, so stable keeps its full size and the
 * canary gets pods for that share — at least one, so there is something to judge.
 */
export function shadowSplit(total: number, sampleRate: number): ReplicaSplit {
  if (!Number.isInteger(total) || total < 0) throw new RangeError(`total replicas must be a non-negative integer, got ${total}`);
  if (!(sampleRate > 0 && sampleRate <= 1)) throw new RangeError(`sample rate must be within (0, 1], got ${sampleRate}`);
  if (total === 0) return { stable: 0, canary: 0, effectiveWeight: 0 };
  return { stable: total, canary: Math.max(1, Math.ceil(total * sampleRate)), effectiveWeight: 0 };
}

/** How canary weight becomes traffic: spec.rollout.trafficRouting.type. */
export type TrafficRoutingType = ModelDeploymentSpec['rollout']['trafficRouting']['type'];

/** A routing type's split of one canary weight. */
export interface TrafficSplit {
  /** Replica counts of stable and canary for the model's size and a canary weight. */
  replicas(total: number, weight: number): ReplicaSplit;
  /** The canary's share of a route, or undefined when the replica counts alone split traffic. */
  routeWeight(weight: number): number | undefined;
}

const SPLITS: Record<TrafficRoutingType, TrafficSplit> = {
  // The shared Service selects every revision's pods: the pods are the split.
  ReplicaRatio: { replicas: splitReplicas, routeWeight: () => undefined },
  // The HTTPRoute weighs the two Services: the pods only need to carry their share.
  GatewayAPI: { replicas: gatewaySplit, routeWeight: (weight) => weight },
};

/** The split of a traffic routing type. */
export function trafficSplit(type: TrafficRoutingType): TrafficSplit {
  return SPLITS[type];
}
