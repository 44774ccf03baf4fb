// The one thing the analysis needs from a metrics backend: a number for a query. Kept this
// small (as Flagger's providers are) so another backend is one file in providers/.

/** A metrics backend that answers instant queries with a single number. */
export interface MetricProvider {
  /** The query's value now; undefined for an empty result or NaN; throws a clear Error on failure, or signal's reason once it aborted. */
  query(promql: string, signal?: AbortSignal): Promise<number | undefined>;
  /** True when the backend answers queries at all; never throws. */
  isOnline(): Promise<boolean>;
}
