// The cluster the demo runs on, behind one small interface — the local cluster it starts, or an
// existing one the user names — and the list of things to undo at the end or on Ctrl-C.
import type { KubeConfig } from '@kubernetes/client-node';
import type { ModelRef } from './scenario.ts';

/** A cluster ready for the demo: tools bound to it, the chart's values, the models. */
export interface DemoCluster {
  /** Runs kubectl against the cluster; throws with its stderr on failure. */
  kubectl(args: string[], input?: string): Promise<string>;
  /** Runs helm against the cluster; throws with its output on failure. */
  helm(args: string[]): Promise<string>;
  /** A client for status reads (cheaper than a kubectl process per poll). */
  kubeConfig(): KubeConfig;
  /** `--set` values for the chart: the image and the Prometheus address. */
  chartValues: string[];
  /** The Prometheus the operator queries. */
  prometheusUrl: string;
  /** The first and good model, and the slow one (absent: the rollback half is skipped). */
  models: { good: ModelRef; slow?: ModelRef };
  /** The base URL the load generator sends a Service's requests to. */
  serviceUrl(namespace: string, service: string): Promise<string>;
  /** How to reach what --keep leaves running. */
  keepHints(namespace: string): string[];
  /** True when --keep must hold this process (it runs the cluster); false when it may exit. */
  readonly holdsCluster: boolean;
}

interface Item {
  name: string;
  stop: () => Promise<void>;
  onInterrupt: boolean;
}

/** What the demo started or changed, undone last first. */
export class Teardown {
  private items: Item[] = [];

  /**
   * Registers an undo step. onInterrupt false: Ctrl-C leaves it to its owner (the cluster
   * library stops the local cluster on SIGINT itself, and must not be raced).
   */
  add(name: string, stop: () => Promise<void>, opts: { onInterrupt?: boolean } = {}): void {
    this.items.push({ name, stop, onInterrupt: opts.onInterrupt ?? true });
  }

  /** Undoes everything, last first; returns the failures as lines (never throws). */
  async run(): Promise<string[]> {
    const failures: string[] = [];
    for (const item of this.items.reverse().splice(0)) {
      try {
        await item.stop();
      } catch (err) {
        failures.push(`${item.name}: ${(err as Error).message}`);
      }
    }
    return failures;
  }

  /** On Ctrl-C: starts every interruptible undo step at once (so each begins before the process ends) and waits for them. */
  async interrupt(): Promise<void> {
    const items = this.items.reverse().splice(0).filter((i) => i.onInterrupt);
    await Promise.allSettled(items.map((i) => i.stop()));
  }
}
