// Pure parts of the cluster library: version pinning, generated configs, binary lookup errors.
import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { componentDir, findBinary } from './binaries.ts';
import { renderKubeconfig } from './kubeconfig.ts';
import { renderPrometheusConfig } from './prometheus.ts';
import { loadVersions, parseEnvFile } from './versions.ts';

describe('versions.env', () => {
  test.each([
    ['A=1\nB=v2', { A: '1', B: 'v2' }],
    ['# comment\n\nKUBE=v1.34.4\n', { KUBE: 'v1.34.4' }],
  ])('parses %j', (text, want) => {
    expect(parseEnvFile(text)).toEqual(want);
  });
  test('rejects a malformed line with its number', () => {
    expect(() => parseEnvFile('A=1\nnot a pair')).toThrow(/line 2: expected KEY=VALUE/);
  });
  test('pins the versions the cluster is tested with', () => {
    const v = loadVersions();
    expect(v.KUBERNETES_VERSION).toMatch(/^v1\.\d+\.\d+$/);
    expect(v.KUBERNETES_STAGING_VERSION).toBe(v.KUBERNETES_VERSION.replace(/^v1\./, 'v0.'));
    expect(v.PROMETHEUS_MODULE_VERSION).toBe(`v0.3${v.PROMETHEUS_VERSION.split('.')[1]!.padStart(2, '0')}.${v.PROMETHEUS_VERSION.split('.')[2]}`);
  });
});

describe('findBinary', () => {
  test('a missing binary is an error that names it, its version and the command that builds it', () => {
    const empty = mkdtempSync(join(tmpdir(), 'siskin-empty-'));
    try {
      const env = { PATH: empty, SISKIN_CACHE: empty };
      expect(() => findBinary('kube-scheduler', env)).toThrow(
        /kube-scheduler v1\.\d+\.\d+ not found .*build-binaries\.sh kubernetes/,
      );
      expect(componentDir('etcd', 'v9', env)).toBe(join(empty, 'bin', 'etcd-v9'));
    } finally {
      rmSync(empty, { recursive: true });
    }
  });
});

describe('generated configs', () => {
  test('kubeconfig pins the CA and carries the token', () => {
    const cfg = YAML.parse(renderKubeconfig({ server: 'https://127.0.0.1:1', caPem: 'PEM', user: 'u', token: 't', namespace: 'ns' })) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
      users: { user: { token: string } }[];
      contexts: { context: { namespace: string } }[];
    };
    expect(cfg.clusters[0]?.cluster.server).toBe('https://127.0.0.1:1');
    expect(Buffer.from(cfg.clusters[0]!.cluster['certificate-authority-data'], 'base64').toString()).toBe('PEM');
    expect(cfg.users[0]?.user.token).toBe('t');
    expect(cfg.contexts[0]?.context.namespace).toBe('ns');
  });

  test('prometheus config merges static targets with given scrape configs', () => {
    const cfg = YAML.parse(
      renderPrometheusConfig({ staticTargets: ['127.0.0.1:9'], scrapeConfigs: [{ job_name: 'pods' }], scrapeInterval: '2s' }),
    ) as { global: { scrape_interval: string }; scrape_configs: { job_name: string; static_configs?: { targets: string[] }[] }[] };
    expect(cfg.global.scrape_interval).toBe('2s');
    expect(cfg.scrape_configs.map((s) => s.job_name)).toEqual(['pods', 'static']);
    expect(cfg.scrape_configs[1]?.static_configs?.[0]?.targets).toEqual(['127.0.0.1:9']);
  });
});
