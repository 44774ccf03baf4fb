// The operator's API clients against a real API server through a relay that counts connections:
// requests share keep-alive connections (client-node alone opens a TLS connection per request).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { CoreV1Api } from '@kubernetes/client-node';
import { reuseConnections } from '../../../operator/runtime/connections.ts';
import { startCluster, type LocalCluster } from '../../cluster/index.ts';
import { TcpProxy } from '../../cluster/tcpProxy.ts';

describe('connections to the API server', () => {
  let cluster: LocalCluster;
  let relay: TcpProxy;
  beforeAll(async () => {
    cluster = await startCluster();
    relay = new TcpProxy(cluster.kubeConfig().getCurrentCluster()!.server);
    await relay.start();
  });
  afterAll(async () => {
    await relay?.stop();
    await cluster?.stop();
  });

  /** 40 reads one after another, then 40 more 8 at a time (a controller's workers); the connections they opened. */
  const connectionsFor = async (core: CoreV1Api): Promise<number> => {
    const before = relay.accepted;
    for (let i = 0; i < 40; i++) await core.listNamespace();
    for (let i = 0; i < 5; i++) await Promise.all(Array.from({ length: 8 }, () => core.readNamespace({ name: 'default' })));
    return relay.accepted - before;
  };

  test('without the pool, client-node opens a connection per request (why the pool exists)', async () => {
    expect(await connectionsFor(relay.kubeConfig(cluster.kubeConfig()).makeApiClient(CoreV1Api))).toBe(80);
  });

  test('through reuseConnections, 80 requests share at most as many connections as were in flight at once', async () => {
    const kc = reuseConnections(relay.kubeConfig(cluster.kubeConfig()));
    expect(await connectionsFor(kc.makeApiClient(CoreV1Api))).toBeLessThanOrEqual(8);
    // Every client made from it shares the same pool.
    expect(await connectionsFor(kc.makeApiClient(CoreV1Api))).toBe(0);
  });
});
