// hostPath-backed PersistentVolumes for the real node, so `pvc://claim/path` model URIs
// have a real claim to mount.
import { mkdirSync } from 'node:fs';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { waitFor } from './net.ts';

/** The storage class name the local volumes use (no provisioner: pre-bound only). */
export const LOCAL_STORAGE_CLASS = 'siskin-local';

/** Creates a PV over hostDir pre-bound to a new PVC namespace/name, and waits until Bound. */
export async function createHostPathClaim(
  kc: KubeConfig,
  opts: { namespace: string; name: string; hostDir: string; size?: string },
): Promise<void> {
  mkdirSync(opts.hostDir, { recursive: true });
  const core = kc.makeApiClient(CoreV1Api);
  const size = opts.size ?? '1Gi';
  const pvName = `${opts.namespace}-${opts.name}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName, labels: { 'siskin.dev/local-volume': 'true' } },
      spec: {
        capacity: { storage: size },
        accessModes: ['ReadWriteOnce', 'ReadOnlyMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: LOCAL_STORAGE_CLASS,
        hostPath: { path: opts.hostDir, type: 'Directory' },
        claimRef: { namespace: opts.namespace, name: opts.name },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: opts.namespace,
    body: {
      metadata: { name: opts.name },
      spec: { accessModes: ['ReadWriteOnce'], storageClassName: LOCAL_STORAGE_CLASS, volumeName: pvName, resources: { requests: { storage: size } } },
    },
  });
  await waitFor(`PVC ${opts.namespace}/${opts.name} Bound`, async () => {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ namespace: opts.namespace, name: opts.name });
    return pvc.status?.phase === 'Bound' ? true : undefined;
  }, { timeoutMs: 60_000, intervalMs: 250 });
}
