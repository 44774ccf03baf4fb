// The Prometheus a spec may query: the operator's default, or an address it allows; nothing else.
import { describe, expect, test } from '@jest/globals';
import { prometheusAddressFor, type PrometheusAddressChoice, type PrometheusAddresses } from './prometheusAddress.ts';

const config: PrometheusAddresses = { defaultAddress: 'http://prometheus.monitoring.svc:9090', allowedAddresses: ['http://thanos.monitoring:9090/', 'https://mimir.example/prometheus'] };
const NOT_ALLOWED = /^spec\.monitoring\.prometheusURL ".*" is not a Prometheus address this operator allows; the platform team must add it/;

describe('prometheusAddressFor', () => {
  test.each<[string, string | undefined, PrometheusAddresses, string | RegExp]>([
    ['no address in the spec uses the default', undefined, config, 'http://prometheus.monitoring.svc:9090'],
    ['the default, named in the spec, is allowed', 'http://prometheus.monitoring.svc:9090', config, 'http://prometheus.monitoring.svc:9090'],
    ['an allowed address is used', 'https://mimir.example/prometheus', config, 'https://mimir.example/prometheus'],
    ['a trailing slash on either side does not matter', 'http://thanos.monitoring:9090', config, 'http://thanos.monitoring:9090'],
    ['…nor on the spec side', 'https://mimir.example/prometheus/', config, 'https://mimir.example/prometheus'],
    ['any other address is refused', 'http://internal-svc/admin/secret#', config, NOT_ALLOWED],
    ['a path below an allowed address is another address', 'https://mimir.example/prometheus/api/v1/admin', config, NOT_ALLOWED],
    ['the same host on another port is another address', 'http://prometheus.monitoring.svc:9091', config, NOT_ALLOWED],
    ['the cloud metadata service is refused', 'http://169.254.169.254/latest/meta-data', config, NOT_ALLOWED],
    ['with no allow-list only the default may be named', 'http://thanos.monitoring:9090', { defaultAddress: 'http://p:9090', allowedAddresses: [] }, NOT_ALLOWED],
    ['no address anywhere is an error', undefined, { defaultAddress: '', allowedAddresses: [] }, /^no Prometheus address: spec\.monitoring\.prometheusURL is unset and the operator has no default$/],
  ])('%s', (_, prometheusURL, addresses, expected) => {
    const choice: PrometheusAddressChoice = prometheusAddressFor({ monitoring: prometheusURL === undefined ? undefined : { prometheusURL } }, addresses);
    if (typeof expected === 'string') expect(choice).toEqual({ url: expected });
    else expect('error' in choice ? choice.error : choice).toMatch(expected);
  });

  test('a long refused address is shortened in the error', () => {
    const choice = prometheusAddressFor({ monitoring: { prometheusURL: `http://x/${'a'.repeat(5000)}` } }, config);
    expect('error' in choice && choice.error.length).toBeLessThan(400);
  });
});
