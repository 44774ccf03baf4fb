// Follows the routing file: a mounted ConfigMap is updated by an atomic symlink swap,
// which fs.watch misses, so the file is polled (stat is cheap) and re-read on change.
import { unwatchFile, watchFile } from 'node:fs';
import type { Stats } from 'node:fs';
import { readRouting } from './routing.ts';
import type { ShadowTarget } from './routing.ts';

/** Watches a routing file and reports every new content; an invalid one reports no target. */
export class RoutingWatcher {
  private readonly path: string;
  private readonly intervalMs: number;
  private readonly onChange: (t: ShadowTarget | undefined) => void;
  private readonly onError: (err: Error) => void;
  private readonly listener = (curr: Stats, prev: Stats): void => {
    if (curr.mtimeMs !== prev.mtimeMs || curr.ino !== prev.ino || curr.size !== prev.size) void this.read();
  };

  constructor(path: string, onChange: (t: ShadowTarget | undefined) => void, onError: (err: Error) => void, intervalMs = 1000) {
    this.path = path;
    this.onChange = onChange;
    this.onError = onError;
    this.intervalMs = intervalMs;
  }

  /** Reads the file once, then polls it. */
  async start(): Promise<void> {
    await this.read();
    // persistent: false — the watcher alone must not keep the process alive.
    watchFile(this.path, { interval: this.intervalMs, persistent: false }, this.listener);
  }

  /** Stops polling. */
  stop(): void {
    unwatchFile(this.path, this.listener);
  }

  private async read(): Promise<void> {
    try {
      this.onChange(await readRouting(this.path));
    } catch (err) {
      // A file the operator did not write (a hand edit, a URL it would never name) is
      // refused whole: mirroring stops — it is advisory — and serving goes on.
      this.onChange(undefined);
      this.onError(err as Error);
    }
  }
}
