// The manager ties the runtime together as controller-runtime's does: informers and the HTTP
// server run on every replica (standbys keep warm caches and stay Ready); controllers run only
// while this replica holds the lease, and stop the moment it is lost.
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import type { OperatorConfig } from './config.ts';
import type { Controller } from './controller.ts';
import type { Informer } from './informer.ts';
import { fence } from './abort.ts';
import { LeaderElector, type LeadershipEnd } from './leaderElection.ts';
import { createLogger, type Logger } from './logger.ts';
import { OperatorMetrics } from './metrics.ts';
import { startServer, type OperatorServer } from './server.ts';
import { onTerminationSignal, runShutdown, type StepOutcome } from './shutdown.ts';

/** Lease settings; absent means "no leader election: always lead". */
export interface ManagerLeaderElection {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** Everything a manager runs. */
export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  metrics?: OperatorMetrics;
  /** Where /healthz, /readyz and /metrics listen; absent: no server. */
  http?: { host: string; port: number };
  leaderElection?: ManagerLeaderElection;
  /**
   * Called after the controllers were stopped because the lease was lost. Default: exit(1), as
   * controller-runtime does, so the pod restarts as a clean standby.
   */
  onLostLeadership?: (end: LeadershipEnd) => void;
  /** Bound of each shutdown step. Default 10 s. */
  shutdownStepTimeoutMs?: number;
}

/** Manager options from validated configuration. */
export function managerOptionsFromConfig(config: OperatorConfig, kubeConfig: KubeConfig, logger: Logger): ManagerOptions {
  const le = config.leaderElection;
  return {
    kubeConfig,
    logger,
    http: config.http,
    leaderElection: le.enabled
      ? {
          namespace: le.leaseNamespace,
          name: le.leaseName,
          identity: le.identity,
          leaseDurationMs: le.leaseDurationMs,
          renewDeadlineMs: le.renewDeadlineMs,
          retryPeriodMs: le.retryPeriodMs,
        }
      : undefined,
  };
}

/** Runs informers, the probe/metrics server, leader election and leader-only controllers. */
export class Manager {
  /** The metrics /metrics serves; give them to the controllers and informers you add. */
  readonly metrics: OperatorMetrics;
  private readonly opts: ManagerOptions;
  private readonly log: Logger;
  private readonly informers: Array<Informer<KubernetesObject>> = [];
  private readonly controllers: Controller[] = [];
  private readonly stopHooks: Array<() => Promise<void>> = [];
  private readonly running: Array<Promise<void>> = [];
  private elector: LeaderElector | undefined;
  private server: OperatorServer | undefined;
  private leading = false;
  private controllersStopped = false;

  constructor(opts: ManagerOptions) {
    this.opts = opts;
    this.log = opts.logger ?? createLogger({ level: 'silent' });
    this.metrics = opts.metrics ?? new OperatorMetrics();
  }

  /** Registers an informer: started by start(), part of readiness, stopped at shutdown. */
  addInformer<T extends KubernetesObject>(informer: Informer<T>): this {
    this.informers.push(informer as unknown as Informer<KubernetesObject>);
    return this;
  }

  /** Registers a controller: run only while leading. */
  addController(controller: Controller): this {
    this.controllers.push(controller);
    return this;
  }

  /** Registers work to stop at shutdown, right after the controllers (a listener they feed, say). */
  onStop(stop: () => Promise<void>): this {
    this.stopHooks.push(stop);
    return this;
  }

  /** The bound HTTP port, once started with http. */
  get port(): number | undefined {
    return this.server?.port;
  }

  /** True while the controllers may run (leader, or no leader election). */
  isLeader(): boolean {
    return this.leading;
  }

  /** True once every informer completed its first list. */
  hasSynced(): boolean {
    return this.informers.every((i) => i.hasSynced());
  }

  /** Starts the server, the informers and the election; controllers start once leading and synced. */
  async start(): Promise<void> {
    if (this.opts.http) {
      this.server = await startServer({
        ...this.opts.http,
        registry: this.metrics.registry,
        readiness: this.informers.map((i) => ({ name: `informer ${i.path}`, check: () => i.hasSynced() })),
      });
      this.log.info({ port: this.server.port }, 'serving /healthz, /readyz and /metrics');
    }
    for (const informer of this.informers) informer.start();
    const le = this.opts.leaderElection;
    if (!le) {
      this.startLeading();
      return;
    }
    this.elector = new LeaderElector({
      kubeConfig: this.opts.kubeConfig,
      ...le,
      logger: this.log,
      metrics: this.metrics,
      onStartedLeading: () => this.startLeading(),
      onStoppedLeading: (end) => this.stopLeading(end),
      onNewLeader: (identity) => this.log.info({ leader: identity }, 'observed leader'),
    });
    this.elector.start();
  }

  /** Shuts down in the only safe order: controllers, then the lease, then informers, then the server. */
  stop(): Promise<StepOutcome[]> {
    return runShutdown({
      log: this.log,
      stepTimeoutMs: this.opts.shutdownStepTimeoutMs,
      steps: [
        // The lease must outlive our reconciles, or a standby could reconcile the same key at once.
        { name: 'stop controllers', run: () => this.stopControllers() },
        { name: 'stop what the controllers feed', run: async () => void (await Promise.all(this.stopHooks.map((f) => f()))) },
        { name: 'release the lease', run: () => this.elector?.stop() },
        { name: 'stop informers', run: async () => void (await Promise.all(this.informers.map((i) => i.stop()))) },
        { name: 'close the server', run: () => this.server?.close() },
      ],
    });
  }

  /** Runs stop() on the first termination signal (default SIGTERM, SIGINT), then exits 0 (or 1 if a step failed). Returns an uninstaller. */
  stopOnSignals(opts: { signals?: NodeJS.Signals[]; exit?: (code: number) => void } = {}): () => void {
    let remove = (): void => undefined;
    remove = onTerminationSignal({
      log: this.log,
      signals: opts.signals ?? ['SIGTERM', 'SIGINT'],
      steps: [{ name: 'manager', run: async () => void this.assertAllOk(await this.stop()) }],
      exit: (code) => {
        remove();
        (opts.exit ?? ((c: number) => process.exit(c)))(code);
      },
    });
    return remove;
  }

  private assertAllOk(outcomes: StepOutcome[]): void {
    const failed = outcomes.filter((o) => !o.ok);
    if (failed.length > 0) throw new Error(failed.map((o) => `${o.name}: ${o.error ?? 'failed'}`).join('; '));
  }

  private startLeading(): void {
    this.leading = true;
    this.log.info('leading: starting controllers once caches are synced');
    void Promise.all(this.informers.map((i) => i.waitForSync())).then(() => {
      if (!this.leading || this.controllersStopped) return;
      const elector = this.elector;
      for (const c of this.controllers) {
        // Every write a reconcile makes checks, when it is sent, that the lease is still ours.
        if (elector) fence(c.signal, () => elector.writeRefusal());
        this.running.push(c.run());
      }
    });
  }

  private stopLeading(end: LeadershipEnd): void {
    const wasLeading = this.leading;
    this.leading = false;
    if (!wasLeading || end.reason !== 'lost') return;
    // Lost: every controller stops taking keys and sees its signal abort right now, synchronously.
    const stopped = this.stopControllers();
    this.log.error({ reason: end.message }, 'lost leadership; controllers stopped');
    void stopped.then(() => (this.opts.onLostLeadership ?? (() => process.exit(1)))(end));
  }

  private async stopControllers(): Promise<void> {
    this.controllersStopped = true;
    await Promise.all(this.controllers.map((c) => c.stop()));
    await Promise.all(this.running);
  }
}
