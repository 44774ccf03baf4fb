// The operator's Prometheus metrics, named after controller-runtime's set with a siskin_ prefix,
// on a Registry instance of their own so tests and several operators in one process never collide.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WorkQueueObserver } from './workQueue.ts';

/** Outcome label values of siskin_reconcile_total. */
export type ReconcileOutcome = 'success' | 'error' | 'requeue' | 'requeue_after';

/** Reconcile durations from 5 ms (a no-op against the cache) to a minute (a slow API server). */
export const RECONCILE_TIME_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Queue waits from 1 ms to over 15 min (the longest backoffs). */
export const QUEUE_DURATION_BUCKETS = [0.001, 0.01, 0.1, 0.5, 1, 5, 10, 60, 300, 1000];

/** Every runtime metric, registered on one Registry. */
export class OperatorMetrics {
  /** The registry /metrics serves. */
  readonly registry: Registry;
  /** siskin_reconcile_total{controller,result}. */
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  /** siskin_reconcile_errors_total{controller}: reconciles that threw (terminal or not). */
  readonly reconcileErrors: Counter<'controller'>;
  /** siskin_terminal_reconcile_errors_total{controller}: reconciles that threw a TerminalError. */
  readonly terminalReconcileErrors: Counter<'controller'>;
  /** siskin_reconcile_time_seconds{controller}. */
  readonly reconcileTime: Histogram<'controller'>;
  /** siskin_controller_active_workers{controller}: reconciles running right now. */
  readonly activeWorkers: Gauge<'controller'>;
  /** siskin_workqueue_depth{name}. */
  readonly workqueueDepth: Gauge<'name'>;
  /** siskin_workqueue_adds_total{name}. */
  readonly workqueueAdds: Counter<'name'>;
  /** siskin_workqueue_retries_total{name}. */
  readonly workqueueRetries: Counter<'name'>;
  /** siskin_workqueue_queue_duration_seconds{name}: time a key waited before a worker took it. */
  readonly workqueueQueueDuration: Histogram<'name'>;
  /** siskin_leader_election_master_status{name}: 1 while this process holds the lease. */
  readonly leaderStatus: Gauge<'name'>;
  /** Per lease name, whether this process may act as its leader now (set by LeaderElector, read at scrape time). */
  readonly leaderProbes = new Map<string, () => boolean>();

  /** processMetrics adds prom-client's process and Node.js runtime metrics (for the real operator, not tests). */
  constructor(opts: { processMetrics?: boolean } = {}) {
    const registry = new Registry();
    this.registry = registry;
    const registers = [registry];
    this.reconcileTotal = new Counter({
      name: 'siskin_reconcile_total',
      help: 'Total number of reconciliations per controller and result.',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'siskin_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller.',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'siskin_terminal_reconcile_errors_total',
      help: 'Total number of terminal (not retried) reconciliation errors per controller.',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'siskin_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller.',
      labelNames: ['controller'],
      buckets: RECONCILE_TIME_BUCKETS,
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'siskin_controller_active_workers',
      help: 'Number of reconciles currently running per controller.',
      labelNames: ['controller'],
      registers,
    });
    this.workqueueDepth = new Gauge({ name: 'siskin_workqueue_depth', help: 'Current depth of the work queue.', labelNames: ['name'], registers });
    this.workqueueAdds = new Counter({ name: 'siskin_workqueue_adds_total', help: 'Total number of adds handled by the work queue.', labelNames: ['name'], registers });
    this.workqueueRetries = new Counter({
      name: 'siskin_workqueue_retries_total',
      help: 'Total number of rate-limited retries handled by the work queue.',
      labelNames: ['name'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'siskin_workqueue_queue_duration_seconds',
      help: 'How long in seconds a key stays in the work queue before being processed.',
      labelNames: ['name'],
      buckets: QUEUE_DURATION_BUCKETS,
      registers,
    });
    const probes = this.leaderProbes;
    const leaderStatus: Gauge<'name'> = new Gauge({
      name: 'siskin_leader_election_master_status',
      help: '1 while this process is the leader of the named lease, 0 otherwise.',
      labelNames: ['name'],
      registers,
      // Read at scrape time: a process resumed after a freeze past its renew deadline says 0
      // before any of its timers has run, as its writes are refused.
      collect() {
        for (const [name, leading] of probes) leaderStatus.set({ name }, leading() ? 1 : 0);
      },
    });
    this.leaderStatus = leaderStatus;
    // Unprefixed process_* / nodejs_* names, so stock Node.js dashboards work unchanged.
    if (opts.processMetrics) collectDefaultMetrics({ register: registry });
  }

  /** Work queue hooks that feed the siskin_workqueue_* series of queue name. */
  queueObserver(name: string): WorkQueueObserver {
    // Touch every series once so dashboards see zeros instead of gaps before the first event.
    this.workqueueAdds.inc({ name }, 0);
    this.workqueueRetries.inc({ name }, 0);
    this.workqueueDepth.set({ name }, 0);
    return {
      onAdd: () => this.workqueueAdds.inc({ name }),
      onRetry: () => this.workqueueRetries.inc({ name }),
      onDepth: (depth) => this.workqueueDepth.set({ name }, depth),
      onDequeue: (waitedMs) => this.workqueueQueueDuration.observe({ name }, waitedMs / 1000),
    };
  }
}
