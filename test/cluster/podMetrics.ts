// Prometheus as a user's cluster runs it: pods discovered through the API server
// (kubernetes_sd_configs, role pod) and kept by their prometheus.io/* annotations, with the
// `namespace` and `pod` labels the usual relabelling adds — what Siskin's queries expect.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalCluster } from './cluster.ts';
import { startPrometheus, type LocalPrometheus } from './prometheus.ts';

/** The scrape config for annotated pods of a local cluster; writes its credentials into dir. */
export function podScrapeConfig(cluster: LocalCluster, dir: string): Record<string, unknown> {
  const tokenFile = join(dir, 'prometheus.token');
  const caFile = join(dir, 'prometheus-ca.crt');
  writeFileSync(tokenFile, cluster.adminToken, { mode: 0o600 });
  writeFileSync(caFile, cluster.caPem);
  return {
    job_name: 'kubernetes-pods',
    // Plain-text exporters without a content type (busybox httpd) need a fallback in Prometheus 3.
    fallback_scrape_protocol: 'PrometheusText0.0.4',
    kubernetes_sd_configs: [{ role: 'pod', api_server: cluster.server, tls_config: { ca_file: caFile }, authorization: { credentials_file: tokenFile } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
      {
        source_labels: ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
        action: 'replace',
        regex: '(.+);(.+)',
        replacement: '$1:$2',
        target_label: '__address__',
      },
      { source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' },
      { source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' },
    ],
  };
}

/** Starts a Prometheus that scrapes the cluster's annotated pods. */
export async function startPodPrometheus(
  cluster: LocalCluster,
  opts: { scrapeInterval?: string; ruleFiles?: string[]; staticTargets?: string[]; listenAddress?: string } = {},
): Promise<LocalPrometheus> {
  return startPrometheus({ scrapeConfigs: [podScrapeConfig(cluster, cluster.dir)], ...opts });
}
