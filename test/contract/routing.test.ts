// The routing file across the process boundary: the operator's real ConfigMap, its data
// written out as the kubelet projects it into the pod, read by the serving runtime's real reader.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { ROUTING_FILE_KEY, SHADOW_DEFAULTS } from '../../contract/routing.ts';
import { routingConfigMap } from '../../operator/resources/routingConfig.ts';
import type { Owner } from '../../operator/resources/deployment.ts';
import { parseRouting, readRouting } from '../../serving/shadow/routing.ts';
import { tempDir } from '../fixtures/serving.ts';

const owner: Owner = { name: 'iris', namespace: 'ml', uid: '1234-uid' };
const shadow = { url: 'http://iris-canary.ml.svc:80', sampleRate: 0.2, revision: 'b7c1d2e3f4' };
const dir = tempDir('siskin-routing-');
afterAll(() => dir.remove());

/** Projects a ConfigMap's keys as files under a fresh mount directory, as the kubelet does. */
function mount(cm: V1ConfigMap, name: string): string {
  const mountDir = join(dir.dir, name);
  mkdirSync(mountDir);
  for (const [key, text] of Object.entries(cm.data ?? {})) writeFileSync(join(mountDir, key), text);
  return mountDir;
}

describe('routing file: operator ConfigMap → serving reader', () => {
  test('a shadow the operator sets is the target the runtime mirrors to, its defaults filled in', async () => {
    const cm = routingConfigMap(owner, shadow);
    const [file] = Object.keys(cm.data!);
    expect(await readRouting(join(mount(cm, 'on'), file!))).toEqual({ ...shadow, ...SHADOW_DEFAULTS });
  });

  test('outside a rollout the runtime reads the file as no mirroring', async () => {
    const cm = routingConfigMap(owner);
    const [file] = Object.keys(cm.data!);
    expect(await readRouting(join(mount(cm, 'off'), file!))).toBeUndefined();
  });

  test('every sample rate the operator may write is one the runtime accepts', () => {
    for (const sampleRate of [0, 0.001, 0.5, 1]) {
      expect(parseRouting(routingConfigMap(owner, { ...shadow, sampleRate }).data![ROUTING_FILE_KEY]!)?.sampleRate).toBe(sampleRate);
    }
  });

  test('the URL the operator writes (http:// and the canary Service IP) is one the runtime accepts', () => {
    const url = 'http://10.96.140.7';
    expect(parseRouting(routingConfigMap(owner, { ...shadow, url }).data![ROUTING_FILE_KEY]!)?.url).toBe(url);
  });
});
