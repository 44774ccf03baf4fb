// Tests call the reconciler directly, as a worker would after an informer event. The reconciler
// reads only the informers' caches, so a test first waits until the caches have caught up with
// what it (or the last reconcile) wrote — exactly the state a worker sees after the event.
import type { KubernetesObject } from '@kubernetes/client-node';
import { waitFor } from '../../cluster/index.ts';

/**
 * True when the cache holds a version at least as new as live's. resourceVersions are opaque
 * by contract, but an etcd-backed API server issues increasing integers; comparing them lets a
 * cache that already saw a newer write (a Deployment's status, say) count as caught up.
 */
function atLeast(cached: KubernetesObject | undefined, live: KubernetesObject): boolean {
  const c = cached?.metadata?.resourceVersion;
  const l = live.metadata?.resourceVersion;
  return c !== undefined && l !== undefined && BigInt(c) >= BigInt(l);
}

/** Waits until cached() holds every object live() lists, each at least at its resourceVersion, and nothing live() no longer lists. */
export async function waitForCache(what: string, live: () => Promise<KubernetesObject[]>, cached: () => readonly KubernetesObject[]): Promise<void> {
  await waitFor(
    `the cache to catch up with ${what}`,
    async () => {
      const want = await live();
      const have = new Map(cached().map((o) => [`${o.metadata?.namespace}/${o.metadata?.name}`, o]));
      const key = (o: KubernetesObject): string => `${o.metadata?.namespace}/${o.metadata?.name}`;
      const names = new Set(want.map(key));
      return want.every((o) => atLeast(have.get(key(o)), o)) && [...have.keys()].every((k) => names.has(k)) ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 20 },
  );
}
