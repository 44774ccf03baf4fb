// The built-in autoscaler's decision, HPA-like: metrics → a raw replica count per metric →
// the largest → clamped to [min, max] → stabilized against the recent raw counts kept in
// status. Pure: metrics, history and the clock come in, the decision and new history go out.
import type { ModelDeploymentSpec } from '../api/schema.ts';

/** spec.autoscaling, defaults applied. */
export type AutoscalePolicy = NonNullable<ModelDeploymentSpec['autoscaling']>;

/** One raw (clamped) recommendation, kept in status for the stabilization windows. */
export interface Recommendation {
  /** Ms since epoch. */
  at: number;
  replicas: number;
}

/** What the autoscaler looks at. */
export interface RecommendInput {
  policy: AutoscalePolicy;
  /** Replicas the stable revision runs now. */
  current: number;
  /** Requests per second over all replicas; undefined or NaN when Prometheus had none. */
  requestRate?: number;
  /** p99 request latency in seconds; undefined or NaN when Prometheus had none. */
  p99?: number;
  /** status.autoscaling.recommendations, oldest first. */
  history: readonly Recommendation[];
  now: number;
}

/** The decision, the history to write back, and a reason for status and Events. */
export interface ReplicaRecommendation {
  /** Replicas to run. */
  desired: number;
  /** What the metrics alone asked for, before clamping and stabilization. */
  raw: number;
  history: Recommendation[];
  reason: string;
}

/**
 * Like the HPA's default: a metric within 10% of its target moves nothing, so noise in a
 * rate or a quantile does not resize the Deployment every interval.
 */
const TOLERANCE = 0.1;
/**
 * Latency only scales down once p99 is under half its target. Latency is not linear in
 * replicas — past enough capacity it stays at the model's compute time however many pods
 * are added — so a narrow band would shrink, overshoot and grow again.
 */
const LATENCY_SCALE_DOWN_BELOW = 0.5;
/** status.autoscaling.recommendations holds at most this many (the schema's maxItems). */
const MAX_HISTORY = 128;

interface Signal {
  replicas: number;
  text: string;
}

/**
 * Decides the replica count. Each configured metric recommends a count; the largest wins.
 * A missing metric holds the current count — except that when the other metric asks for
 * more it is followed (HPA's rule: partial evidence may scale up, never down). Scale-up goes
 * at most to the lowest raw count in the scale-up window, scale-down at most to the highest
 * in the scale-down window, so one dip or spike never flaps the Deployment.
 */
export function recommend(input: RecommendInput): ReplicaRecommendation {
  const { policy, current, now } = input;
  if (!Number.isInteger(current) || current < 0) throw new RangeError(`current replicas must be a non-negative integer, got ${current}`);
  const clamp = (n: number): number => Math.min(policy.maxReplicas, Math.max(policy.minReplicas, n));
  const held = clamp(current);
  const upMs = policy.scaleUpStabilizationSeconds * 1000;
  const downMs = policy.scaleDownStabilizationSeconds * 1000;
  // Entries from the future come from a former leader with a skewed clock: they would
  // count in every window until the clock caught up, so they go.
  const history = [...input.history]
    .filter((e) => e.at <= now && now - e.at < Math.max(upMs, downMs))
    .sort((a, b) => a.at - b.at);

  const signals: Signal[] = [];
  const missing: string[] = [];
  if (policy.targetRequestsPerSecond !== undefined) {
    if (usable(input.requestRate)) signals.push(byRate(input.requestRate, current, policy.targetRequestsPerSecond));
    else missing.push('request rate');
  }
  if (policy.targetP99LatencySeconds !== undefined) {
    if (usable(input.p99)) signals.push(byLatency(input.p99, current, policy.targetP99LatencySeconds));
    else missing.push('p99 latency');
  }
  // Only said when holding: otherwise the clamp notes below explain the count.
  const bounds = held === current ? [] : [`${current} is outside minReplicas–maxReplicas ${policy.minReplicas}–${policy.maxReplicas}`];
  if (signals.length === 0) {
    const why = missing.length > 0 ? `${missing.join(' and ')} missing` : 'no target configured';
    const reason = [...bounds, `${why}: holding ${held} ${replicas(held)}`].join('; ');
    return { desired: held, raw: held, history: thin(history, now, upMs, downMs), reason };
  }
  const raw = Math.max(...signals.map((s) => s.replicas));
  const parts = signals.map((s) => s.text);
  if (missing.length > 0 && raw <= current) {
    parts.push(...bounds, `${missing.join(' and ')} missing, so no scale-down: holding ${held}`);
    return { desired: held, raw, history: thin(history, now, upMs, downMs), reason: parts.join('; ') };
  }

  if (missing.length > 0) parts.push(`${missing.join(' and ')} missing, followed the scale-up anyway`);
  const target = clamp(raw);
  if (raw > policy.maxReplicas) parts.push(`capped at maxReplicas ${policy.maxReplicas}`);
  if (raw < policy.minReplicas) parts.push(`raised to minReplicas ${policy.minReplicas}`);
  const inUp = history.filter((e) => now - e.at < upMs).map((e) => e.replicas);
  const inDown = history.filter((e) => now - e.at < downMs).map((e) => e.replicas);
  const upLimit = Math.min(target, ...inUp);
  const downLimit = Math.max(target, ...inDown);
  let desired = held;
  if (desired < upLimit) desired = upLimit;
  if (desired > downLimit) desired = downLimit;
  // History from a looser policy may lie outside today's bounds.
  desired = clamp(desired);
  if (target > held && desired < target) parts.push(`scale-up held by the ${policy.scaleUpStabilizationSeconds} s stabilization window at ${desired}`);
  if (target < held && desired > target) parts.push(`scale-down held by the ${policy.scaleDownStabilizationSeconds} s stabilization window at ${desired}`);
  return { desired, raw, history: thin([...history, { at: now, replicas: target }], now, upMs, downMs), reason: parts.join('; ') };
}

function usable(x: number | undefined): x is number {
  return x !== undefined && Number.isFinite(x) && x >= 0;
}

/** The count at which each replica carries the target rate. */
function byRate(rate: number, current: number, target: number): Signal {
  const head = `${num(rate)} req/s over ${current} ${replicas(current)}, target ${num(target)} req/s per replica`;
  if (current > 0 && Math.abs(rate / (current * target) - 1) <= TOLERANCE) {
    return { replicas: current, text: `${head} → ${current} (within the ${TOLERANCE * 100}% tolerance)` };
  }
  const n = ceil(rate / target);
  return { replicas: n, text: `${head} → ${n}` };
}

/** Scales the count by how far p99 is from its target, outside the hold band. */
function byLatency(p99: number, current: number, target: number): Signal {
  const head = `p99 ${num(p99)} s over ${current} ${replicas(current)}, target ${num(target)} s`;
  const ratio = p99 / target;
  if (ratio <= 1 + TOLERANCE && ratio >= LATENCY_SCALE_DOWN_BELOW) {
    return { replicas: current, text: `${head} → ${current} (within ${LATENCY_SCALE_DOWN_BELOW}–${1 + TOLERANCE} × target)` };
  }
  const n = ceil(current * ratio);
  return { replicas: n, text: `${head} → ${n}` };
}

/** Ceiling that ignores float noise (0.7 / 0.1 is 6.999…, 3 × 1.1 is 3.3000…1), never -0. */
function ceil(x: number): number {
  return Math.max(0, Math.ceil(x - 1e-9));
}

function num(x: number): string {
  return Math.abs(x) >= 100 ? String(Math.round(x)) : String(Number(x.toPrecision(3)));
}

function replicas(n: number): string {
  return n === 1 ? 'replica' : 'replicas';
}

/**
 * Drops what can never decide a window again: an entry is needed for the scale-down window
 * only while no newer entry is at least as high (the newer one outlives it and wins the
 * max), and for the scale-up window only while no newer one is at least as low. This keeps
 * the windows' answers exactly. Beyond MAX_HISTORY the oldest go first: they expire first.
 */
function thin(entries: readonly Recommendation[], now: number, upMs: number, downMs: number): Recommendation[] {
  const kept: Recommendation[] = [];
  let newerMax = Number.NEGATIVE_INFINITY;
  let newerMin = Number.POSITIVE_INFINITY;
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i]!;
    const age = now - e.at;
    const forDown = age < downMs && e.replicas > newerMax;
    const forUp = age < upMs && e.replicas < newerMin;
    if (i === entries.length - 1 || forDown || forUp) kept.push({ at: e.at, replicas: e.replicas });
    newerMax = Math.max(newerMax, e.replicas);
    newerMin = Math.min(newerMin, e.replicas);
  }
  return kept.reverse().slice(-MAX_HISTORY);
}
