// Leader election on a coordination.k8s.io/v1 Lease, after client-go's leaderelection: acquire,
// renew every retryPeriod, give up after renewDeadline, expiry judged by local observation time
// (never by comparing clocks across machines), every write guarded by resourceVersion.
import { CoordinationV1Api, type KubeConfig, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { realClock, type Clock, type Timer } from './clock.ts';
import { createLogger, type Logger } from './logger.ts';
import type { OperatorMetrics } from './metrics.ts';

/** Why leadership ended. */
export interface LeadershipEnd {
  /** lost: another holder or a missed renewDeadline; stopped: stop() was called. */
  reason: 'lost' | 'stopped';
  /** Human-readable detail for the log. */
  message: string;
}

/** Lease identity, timings and callbacks. */
export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** This process's unique identity (pod name + a random suffix). */
  identity: string;
  /** How long a non-renewed lease blocks others. Default 15 s. */
  leaseDurationMs?: number;
  /** How long the leader keeps trying to renew before it gives up. Default 10 s. */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts. Default 2 s. */
  retryPeriodMs?: number;
  /** Called once when this process becomes the leader. */
  onStartedLeading: () => void;
  /** Called once when leadership ends, before anything else happens: stop reconciling here, at once. */
  onStoppedLeading: (end: LeadershipEnd) => void;
  /** Called whenever a different holder is observed (including this process). */
  onNewLeader?: (identity: string) => void;
  clock?: Clock;
  logger?: Logger;
  metrics?: OperatorMetrics;
}

// Retries while not leading are spread by up to 20% so candidates do not hit the API in lockstep.
const JITTER = 1.2;

/** Status code of a client-node API error, if any. */
function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * Lease times as RFC 3339 with microseconds: the API server parses MicroTime with exactly six
 * fractional digits, and client-node would send Date.toISOString()'s three.
 */
function microTime(d: Date): Date {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z') as unknown as Date;
}

/** A single-use leader elector: start(), then leadership begins and ends at most once. */
export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private readonly opts: LeaderElectionOptions;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly clock: Clock;
  private readonly log: Logger;
  private leading = false;
  private ended = false;
  private stopped = false;
  private tickTimer: Timer | undefined;
  private deadlineTimer: Timer | undefined;
  private inFlight: Promise<void> | undefined;
  private observedVersion: string | undefined;
  private observedAt = 0;
  private observedHolder: string | undefined;
  /** When the last successful acquire or renew was sent: others count the lease from a later moment. */
  private renewSentAt: number | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.opts = opts;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseDurationMs > this.renewDeadlineMs)) throw new Error('leaseDurationMs must be greater than renewDeadlineMs');
    if (!(this.renewDeadlineMs > JITTER * this.retryPeriodMs)) throw new Error(`renewDeadlineMs must be greater than ${JITTER} × retryPeriodMs`);
    if (!opts.identity) throw new Error('leader election needs a non-empty identity');
    this.api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.clock = opts.clock ?? realClock;
    this.log = (opts.logger ?? createLogger({ level: 'silent' })).child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    opts.metrics?.leaderStatus.set({ name: opts.name }, 0);
    opts.metrics?.leaderProbes.set(opts.name, () => this.mayLead());
  }

  /** Whether this process leads and may write now: what writeRefusal() checks, without giving leadership up. */
  private mayLead(): boolean {
    return this.leading && this.renewSentAt !== undefined && this.clock.now() - this.renewSentAt < this.renewDeadlineMs;
  }

  /** Starts trying to acquire the lease. */
  start(): void {
    if (this.stopped || this.tickTimer || this.inFlight) return;
    this.schedule(0);
  }

  /** True while this process holds the lease. */
  isLeader(): boolean {
    return this.leading;
  }

  /** The holder last seen on the Lease. */
  observedLeader(): string | undefined {
    return this.observedHolder;
  }

  /**
   * Stops electing. With release (default), a held lease is handed back by clearing
   * holderIdentity, so a standby takes over at its next retry instead of after leaseDuration.
   * Callers must have stopped the work the lease guards first.
   */
  async stop(opts: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    await this.inFlight;
    // An attempt in flight during stop() may have taken the lease without becoming leader here.
    const mayHold = this.leading || this.observedHolder === this.opts.identity;
    this.end({ reason: 'stopped', message: 'leader election stopped' });
    if (mayHold && (opts.release ?? true)) await this.release();
  }

  /**
   * Why this process must not write now, if it must not: it does not lead, or its last renew
   * was sent renewDeadline ago or more (a frozen process whose deadline timer has not run yet).
   * Past that point it also gives leadership up, at once.
   */
  writeRefusal(): string | undefined {
    if (!this.leading) return 'not leading';
    const since = this.renewSentAt === undefined ? Infinity : this.clock.now() - this.renewSentAt;
    if (since < this.renewDeadlineMs) return undefined;
    const message = `the lease was last renewed ${Math.round(since)} ms ago, past the renew deadline (${this.renewDeadlineMs} ms)`;
    this.end({ reason: 'lost', message });
    return message;
  }

  private schedule(ms: number): void {
    if (this.stopped || this.ended) return;
    this.tickTimer = this.clock.setTimer(() => {
      this.tickTimer = undefined;
      this.inFlight = this.tick().finally(() => (this.inFlight = undefined));
    }, ms);
  }

  private async tick(): Promise<void> {
    const acquired = await this.tryAcquireOrRenew();
    if (this.stopped || this.ended) return;
    if (this.leading) {
      if (acquired) this.armDeadline();
      else if (this.observedHolder !== this.opts.identity) {
        this.end({ reason: 'lost', message: `lease taken over by ${this.observedHolder || 'nobody (released)'}` });
        return;
      }
      this.schedule(this.retryPeriodMs);
      return;
    }
    if (acquired) {
      this.leading = true;
      this.armDeadline();
      this.opts.metrics?.leaderStatus.set({ name: this.opts.name }, 1);
      this.log.info('acquired the lease; leading');
      this.opts.onStartedLeading();
      this.schedule(this.retryPeriodMs);
      return;
    }
    this.schedule(this.retryPeriodMs * (1 + Math.random() * (JITTER - 1)));
  }

  // A renew that hangs must not keep a leader going: the deadline is a timer, not a check after the call.
  private armDeadline(): void {
    this.deadlineTimer?.cancel();
    this.deadlineTimer = this.clock.setTimer(
      () => this.end({ reason: 'lost', message: `could not renew the lease within ${this.renewDeadlineMs} ms` }),
      this.renewDeadlineMs,
    );
  }

  private end(end: LeadershipEnd): void {
    this.deadlineTimer?.cancel();
    this.deadlineTimer = undefined;
    if (this.ended) return;
    this.ended = true;
    this.tickTimer?.cancel();
    this.tickTimer = undefined;
    if (!this.leading) return;
    this.leading = false;
    this.opts.metrics?.leaderStatus.set({ name: this.opts.name }, 0);
    if (end.reason === 'lost') this.log.error({ reason: end.message }, 'lost the lease; stopping');
    else this.log.info('stopped leading');
    this.opts.onStoppedLeading(end);
  }

  private observe(lease: V1Lease): void {
    const version = lease.metadata?.resourceVersion;
    if (version !== this.observedVersion) {
      this.observedVersion = version;
      this.observedAt = this.clock.now();
    }
    const holder = lease.spec?.holderIdentity || undefined;
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  private spec(previous: V1LeaseSpec | undefined, now: Date): V1LeaseSpec {
    const wasMine = previous?.holderIdentity === this.opts.identity;
    return {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: wasMine && previous?.acquireTime ? microTime(new Date(previous.acquireTime)) : microTime(now),
      renewTime: microTime(now),
      // As client-go: every acquisition of an existing lease by a new holder is a transition.
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous && !wasMine ? 1 : 0),
    };
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity } = this.opts;
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (statusOf(err) !== 404) {
        this.log.warn({ err }, 'reading the lease failed');
        return false;
      }
      const sentAt = this.clock.now();
      try {
        const created = await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(undefined, new Date()) } });
        this.observe(created);
        this.renewSentAt = sentAt;
        return true;
      } catch (createErr) {
        if (statusOf(createErr) !== 409) this.log.warn({ err: createErr }, 'creating the lease failed');
        return false;
      }
    }
    this.observe(lease);
    const holder = lease.spec?.holderIdentity;
    const durationMs = (lease.spec?.leaseDurationSeconds ?? Math.ceil(this.leaseDurationMs / 1000)) * 1000;
    if (holder && holder !== identity && this.observedAt + durationMs > this.clock.now()) return false;
    // While leading, someone else's name on the lease means we lost it, expired or not.
    if (this.leading && holder !== identity) return false;
    const sentAt = this.clock.now();
    try {
      const updated = await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: this.spec(lease.spec, new Date()) },
      });
      this.observe(updated);
      this.renewSentAt = sentAt;
      return true;
    } catch (err) {
      // 409: someone wrote the lease since we read it; the next attempt reads it again.
      if (statusOf(err) !== 409) this.log.warn({ err }, 'updating the lease failed');
      return false;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      const now = microTime(new Date());
      // resourceVersion in the body makes this a compare-and-swap: a lease taken meanwhile stays taken.
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, leaseDurationSeconds: 1, renewTime: now, acquireTime: now } },
      });
      this.log.info('released the lease');
    } catch (err) {
      this.log.warn({ err }, 'releasing the lease failed; standbys take over after leaseDuration');
    }
  }
}
