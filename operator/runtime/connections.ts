// One pool of keep-alive connections to the API server for the whole process.
//
// client-node 2.x builds a new undici Agent for every API call (KubeConfig.createDispatcher,
// called from applySecurityAuthentication), so every request of the generated clients opened its
// own TLS connection: a full handshake with client-certificate checks on both sides, a new
// secure context here, and a socket kept open until its idle timeout. Under a burst of 1,000
// ModelDeployments that was most of the operator's CPU and most of the API server's
// (bench/operator/BENCHMARKS.md). Here the dispatcher is made once per distinct TLS material
// and reused; material that changes (a rotated client certificate) gets a new one, and the old
// one is closed once its requests finish. Watches go through client-node's own cached agent.
import type { KubeConfig } from '@kubernetes/client-node';

/** What createDispatcher returns: an undici Dispatcher, or nothing for plain connections. */
interface Dispatcher {
  close(): Promise<void>;
}
type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => Dispatcher | undefined;
/** KubeConfig's (TypeScript-private) dispatcher factory and its public description of what it would build. */
interface DispatcherFactory {
  createDispatcher: CreateDispatcher;
  createDispatcherOptions(cluster: unknown, agentOptions: unknown): unknown;
}

/** Dispatcher options as JSON (Buffers as their bytes): equal TLS material, equal key. */
function keyOf(options: unknown): string {
  return JSON.stringify(options, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v)) ?? '';
}

/**
 * Makes every API client built from kc share one dispatcher (connection pool) per distinct TLS
 * material. Returns kc. Throws if this client-node no longer has the factory it wraps, so an
 * upgrade that changes it fails the tests instead of silently reopening connections.
 */
export function reuseConnections(kc: KubeConfig): KubeConfig {
  const factory = kc as unknown as DispatcherFactory;
  if (typeof factory.createDispatcher !== 'function' || typeof factory.createDispatcherOptions !== 'function') {
    throw new Error('@kubernetes/client-node: KubeConfig.createDispatcher is gone; operator/runtime/connections.ts must follow the new way it builds connections');
  }
  const create = factory.createDispatcher.bind(kc);
  let current: { key: string; dispatcher: Dispatcher | undefined } | undefined;
  factory.createDispatcher = (cluster, agentOptions) => {
    const key = keyOf(factory.createDispatcherOptions(cluster, agentOptions));
    if (current?.key === key) return current.dispatcher;
    // Closing waits for the requests already sent through it.
    void current?.dispatcher?.close().catch(() => undefined);
    current = { key, dispatcher: create(cluster, agentOptions) };
    return current.dispatcher;
  };
  return kc;
}
