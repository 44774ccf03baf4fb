// Follows the routing file: a mounted ConfigMap is updated by an atomic symlink swap,
// which fs.watch misses, so the file is polled (stat is cheap) and re-read on change.
import { stat } from 'node:fs/promises';
import { readRouting } from './routing.ts';
import type { ShadowTarget } from './routing.ts';

/** Watches a routing file and reports every new content; an invalid one reports no target. */
export class RoutingWatcher {
  private readonly path: string;
  private readonly intervalMs: number;
  private readonly onChange: (t: ShadowTarget | undefined) => void;
  private readonly onError: (err: Error) => void;
  private timer: NodeJS.Timeout | undefined;
  /** What the file looked like before its content was last read: a write after it is a change. */
  private seen: string | undefined;
  private polling = false;

  constructor(path: string, onChange: (t: ShadowTarget | undefined) => void, onError: (err: Error) => void, intervalMs = 1000) {
    this.path = path;
    this.onChange = onChange;
    this.onError = onError;
    this.intervalMs = intervalMs;
  }

  /** Reads the file once, then polls it. */
  async start(): Promise<void> {
    // The stat is taken before the read, so a write landing between them is seen at the next
    // poll (fs.watchFile's first stat comes later and would take such a write as the baseline).
    this.seen = await this.fingerprint();
    await this.read();
    this.timer = setInterval(() => void this.poll(), this.intervalMs);
    // The watcher alone must not keep the process alive.
    this.timer.unref();
  }

  /** Stops polling. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const now = await this.fingerprint();
      if (now !== this.seen) {
        this.seen = now;
        await this.read();
      }
    } finally {
      this.polling = false;
    }
  }

  /** mtime, inode and size (a mounted ConfigMap changes by an atomic symlink swap); "absent" when missing. */
  private async fingerprint(): Promise<string> {
    try {
      const st = await stat(this.path);
      return `${st.mtimeMs}:${st.ino}:${st.size}`;
    } catch {
      return 'absent';
    }
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
