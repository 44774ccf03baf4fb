// The routing watcher follows every write to the routing file, including one that lands while
// it is starting (the operator updates the ConfigMap as soon as the canary Service has an IP).
import { afterAll, afterEach, describe, expect, test } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../../test/fixtures/serving.ts';
import type { ShadowTarget } from './routing.ts';
import { RoutingWatcher } from './watcher.ts';

const SHADOW = 'shadow:\n  url: http://198.18.0.20\n  sampleRate: 0.5\n  revision: r2\n';

describe('RoutingWatcher', () => {
  const tmp = tempDir();
  let watcher: RoutingWatcher | undefined;
  afterEach(() => watcher?.stop());
  afterAll(() => tmp.remove());

  test.each([1, 2, 3, 4, 5])('a write right after start() is seen (round %i)', async (round) => {
    const path = join(tmp.dir, `routing-${round}.yaml`);
    writeFileSync(path, 'shadow: null\n');
    const seen: (ShadowTarget | undefined)[] = [];
    watcher = new RoutingWatcher(path, (t) => seen.push(t), () => undefined, 25);
    await watcher.start();
    writeFileSync(path, SHADOW);
    for (let i = 0; i < 100 && seen.at(-1)?.url === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)).toMatchObject({ url: 'http://198.18.0.20', sampleRate: 0.5, revision: 'r2' });
  });

  test('a file that turns invalid reports no target, and a valid one again reports it', async () => {
    const path = join(tmp.dir, 'routing-flip.yaml');
    writeFileSync(path, SHADOW);
    const seen: (ShadowTarget | undefined)[] = [];
    const errors: Error[] = [];
    watcher = new RoutingWatcher(path, (t) => seen.push(t), (e) => errors.push(e), 25);
    await watcher.start();
    expect(seen.at(-1)?.url).toBe('http://198.18.0.20');
    writeFileSync(path, 'shadow:\n  url: http://198.18.0.20/steal?x=1\n  sampleRate: 1\n  revision: r2\n');
    for (let i = 0; i < 100 && seen.at(-1) !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)).toBeUndefined();
    expect(errors).toHaveLength(1);
    writeFileSync(path, SHADOW);
    for (let i = 0; i < 100 && seen.at(-1) === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.at(-1)?.url).toBe('http://198.18.0.20');
  });
});
