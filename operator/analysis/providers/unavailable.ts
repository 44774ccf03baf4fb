// The provider of a ModelDeployment whose Prometheus address the operator may not use: every
// query fails with the reason, so each measurement is Inconclusive saying why, and no request
// leaves the operator.
import type { MetricProvider } from '../provider.ts';

/** A MetricProvider that answers every query with the same error, without any I/O. */
export class UnavailableProvider implements MetricProvider {
  private readonly reason: string;

  constructor(reason: string) {
    this.reason = reason;
  }

  /** Rejects with the reason (or with signal's reason once it aborted). */
  query(_promql: string, signal?: AbortSignal): Promise<number | undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return Promise.reject(new Error(this.reason));
  }

  /** Never online. */
  isOnline(): Promise<boolean> {
    return Promise.resolve(false);
  }
}
