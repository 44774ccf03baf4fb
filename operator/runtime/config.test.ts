// Configuration: defaults, scope, and one error listing every problem.
import { describe, expect, test } from '@jest/globals';
import { ConfigError, loadConfig } from './config.ts';

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  test('defaults to cluster-wide scope, leader election on in the pod namespace, port 8080', () => {
    const c = loadConfig({ POD_NAMESPACE: 'siskin-system', POD_NAME: 'siskin-7f9c' });
    expect(c.watchNamespace).toBeUndefined();
    expect(c.maxConcurrentReconciles).toBe(4);
    expect(c.leaderElection).toMatchObject({
      enabled: true,
      leaseName: 'siskin-operator',
      leaseNamespace: 'siskin-system',
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
    });
    expect(c.leaderElection.identity).toMatch(/^siskin-7f9c_[0-9a-f-]{36}$/);
    expect(c.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.logLevel).toBe('info');
    expect(c.defaultPrometheusAddress).toBe('http://prometheus.monitoring.svc:9090');
    expect(c.allowedPrometheusAddresses).toEqual([]);
  });

  test('reads the allowed Prometheus addresses as a comma-separated list', () => {
    const c = loadConfig({ SISKIN_LEADER_ELECT: 'false', SISKIN_ALLOWED_PROMETHEUS_ADDRESSES: ' http://thanos.monitoring:9090, https://mimir.example/prometheus/ ,' });
    expect(c.allowedPrometheusAddresses).toEqual(['http://thanos.monitoring:9090', 'https://mimir.example/prometheus/']);
  });

  // fetch drops everything after "#", so "http://internal/admin/secret#" would query /admin/secret;
  // credentials would be repeated in every error that names the address.
  test.each<[string, RegExp]>([
    ['http://internal-svc/admin/secret#', /must not carry a query or a fragment/],
    ['http://prom:9090/?x=1', /must not carry a query or a fragment/],
    ['http://user:pass@prom:9090', /must not carry credentials/],
    ['http://user@prom:9090', /must not carry credentials/],
    ['ftp://prom', /must be an http:\/\/ or https:\/\/ URL/],
  ])('refuses the Prometheus address %s, as default and in the allow-list', (url, message) => {
    expect(problemsOf({ SISKIN_LEADER_ELECT: 'false', SISKIN_DEFAULT_PROMETHEUS_ADDRESS: url })).toEqual([expect.stringMatching(new RegExp(`^SISKIN_DEFAULT_PROMETHEUS_ADDRESS: ${message.source}`))]);
    expect(problemsOf({ SISKIN_LEADER_ELECT: 'false', SISKIN_ALLOWED_PROMETHEUS_ADDRESSES: `http://ok:9090,${url}` })).toEqual([
      expect.stringMatching(new RegExp(`^SISKIN_ALLOWED_PROMETHEUS_ADDRESSES\\.1: ${message.source}`)),
    ]);
  });

  test('a path with an @ past the host is no credential', () => {
    expect(loadConfig({ SISKIN_LEADER_ELECT: 'false', SISKIN_DEFAULT_PROMETHEUS_ADDRESS: 'http://gw:8080/tenants/@ml/prometheus' }).defaultPrometheusAddress).toBe(
      'http://gw:8080/tenants/@ml/prometheus',
    );
  });

  test('reads a namespace scope and every setting from the environment', () => {
    const c = loadConfig({
      SISKIN_WATCH_NAMESPACE: 'models',
      SISKIN_DEFAULT_SERVING_IMAGE: 'registry.example/siskin:1.2.3',
      SISKIN_DEFAULT_PROMETHEUS_ADDRESS: 'https://prom.example:9091',
      SISKIN_MAX_CONCURRENT_RECONCILES: '8',
      SISKIN_LEADER_ELECT: 'false',
      SISKIN_HTTP_HOST: '127.0.0.1',
      SISKIN_HTTP_PORT: '9443',
      SISKIN_LOG_LEVEL: 'debug',
      SISKIN_LEASE_DURATION_SECONDS: '2',
      SISKIN_RENEW_DEADLINE_SECONDS: '1.5',
      SISKIN_RETRY_PERIOD_SECONDS: '0.3',
    });
    expect(c).toMatchObject({
      watchNamespace: 'models',
      defaultServingImage: 'registry.example/siskin:1.2.3',
      defaultPrometheusAddress: 'https://prom.example:9091',
      maxConcurrentReconciles: 8,
      http: { host: '127.0.0.1', port: 9443 },
      logLevel: 'debug',
    });
    expect(c.leaderElection).toMatchObject({ enabled: false, leaseNamespace: 'models', leaseDurationMs: 2000, renewDeadlineMs: 1500, retryPeriodMs: 300 });
  });

  test('treats empty variables as unset', () => {
    expect(loadConfig({ SISKIN_WATCH_NAMESPACE: '', SISKIN_LEADER_ELECT: 'false', SISKIN_HTTP_PORT: '' }).watchNamespace).toBeUndefined();
  });

  test('lists every problem at once, naming each variable', () => {
    const problems = problemsOf({
      SISKIN_WATCH_NAMESPACE: 'Not_A_Namespace',
      SISKIN_DEFAULT_PROMETHEUS_ADDRESS: 'ftp://prom',
      SISKIN_MAX_CONCURRENT_RECONCILES: '0',
      SISKIN_LEADER_ELECT: 'maybe',
      SISKIN_HTTP_PORT: '70000',
      SISKIN_HTTP_HOST: 'localhost',
      SISKIN_LOG_LEVEL: 'loud',
      SISKIN_LEASE_DURATION_SECONDS: '5',
      SISKIN_RENEW_DEADLINE_SECONDS: '10',
    });
    const vars = problems.map((p) => p.split(':')[0]);
    expect(vars).toEqual([
      'SISKIN_WATCH_NAMESPACE',
      'SISKIN_DEFAULT_PROMETHEUS_ADDRESS',
      'SISKIN_MAX_CONCURRENT_RECONCILES',
      'SISKIN_LEADER_ELECT',
      'SISKIN_HTTP_HOST',
      'SISKIN_HTTP_PORT',
      'SISKIN_LOG_LEVEL',
      'SISKIN_LEASE_DURATION_SECONDS',
    ]);
    expect(problems.join('\n')).toMatch(/SISKIN_LEASE_DURATION_SECONDS: must be greater than SISKIN_RENEW_DEADLINE_SECONDS/);
  });

  test('requires a lease namespace when leader election is on and none can be inferred', () => {
    expect(problemsOf({})).toEqual([expect.stringMatching(/^SISKIN_LEADER_ELECTION_NAMESPACE: required/)]);
    expect(problemsOf({ SISKIN_RENEW_DEADLINE_SECONDS: '2', SISKIN_RETRY_PERIOD_SECONDS: '2', POD_NAMESPACE: 'x' })).toEqual([
      expect.stringMatching(/^SISKIN_RENEW_DEADLINE_SECONDS: must be greater than 1.2/),
    ]);
  });

  test('the error message carries every problem for the startup log', () => {
    expect(() => loadConfig({ SISKIN_HTTP_PORT: 'x', SISKIN_LEADER_ELECT: 'false', SISKIN_LOG_LEVEL: 'x' })).toThrow(
      /invalid operator configuration:\n {2}- SISKIN_HTTP_PORT: .*\n {2}- SISKIN_LOG_LEVEL: /,
    );
  });
});
