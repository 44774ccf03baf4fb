// Which Prometheus a ModelDeployment's analysis may query. The operator's identity reaches
// addresses its tenants cannot (cluster-internal services, cloud metadata), so the address is
// the platform team's choice: their default, or one of the addresses they allowed. A spec
// naming anything else gets an error instead, and the operator sends no request at all.
import type { ModelDeploymentSpec } from '../api/schema.ts';

/** The addresses the operator's configuration allows. */
export interface PrometheusAddresses {
  /** Used when spec.monitoring.prometheusURL is unset; empty when the operator has none. */
  defaultAddress: string;
  /** Further addresses a spec may name. */
  allowedAddresses: readonly string[];
}

/** The address a ModelDeployment's queries go to, or why there is none it may use. */
export type PrometheusAddressChoice = { url: string } | { error: string };

/** The spec's Prometheus address if the configuration allows it (the default when unset); pure. */
export function prometheusAddressFor(spec: Pick<ModelDeploymentSpec, 'monitoring'>, config: PrometheusAddresses): PrometheusAddressChoice {
  const named = spec.monitoring?.prometheusURL;
  const defaultAddress = normalise(config.defaultAddress);
  if (named === undefined) {
    return defaultAddress === '' ? { error: "no Prometheus address: spec.monitoring.prometheusURL is unset and the operator has no default" } : { url: defaultAddress };
  }
  const wanted = normalise(named);
  if (wanted === defaultAddress || config.allowedAddresses.some((a) => normalise(a) === wanted)) return { url: wanted };
  return {
    error:
      `spec.monitoring.prometheusURL ${JSON.stringify(brief(named))} is not a Prometheus address this operator allows; ` +
      "the platform team must add it to the operator's allowed Prometheus addresses, or unset the field to use the default",
  };
}

/** "http://prom:9090/" and "http://prom:9090" are one address. */
function normalise(url: string): string {
  return url.replace(/\/+$/, '');
}

/** The spec's value, shortened: it ends up in a status field. */
function brief(url: string): string {
  return url.length > 120 ? `${url.slice(0, 120)}…` : url;
}
