// Follows a ModelDeployment while the demo runs: polls its status, prints what changed, and
// has the load generator measure the traffic split for as long as the canary holds a weight.
import type { ModelDeploymentStatus } from '../../operator/api/schema.ts';
import type { StepView } from '../../operator/cli/render.ts';
import { canaryShare, type TrafficWindow } from '../../test/fixtures/traffic.ts';
import { describeStatus, statusChanges, type MeasuredSplit } from './progress.ts';

/** The split meter's view of the load generator. */
export interface TrafficCounts {
  take(): TrafficWindow;
}

// Endpoints take a moment to follow a weight change, and requests queued at a slow canary still
// come back after a rollback: the first seconds of a weight are not its split.
const SETTLE_MS = 4_000;

interface Segment {
  key: string;
  version: string;
  revision: string;
  weight: MeasuredSplit['weight'];
  startedAt: number;
  settled: boolean;
}

/** Measures the canary's share of real answers for each weight it holds. */
export class SplitMeter {
  private segment: Segment | undefined;
  private lastCanary: string | undefined;
  private readonly traffic: TrafficCounts;
  private readonly onSplit: (split: MeasuredSplit) => void;
  /** Every closed segment, in order. */
  readonly splits: MeasuredSplit[] = [];

  /** onSplit hears each split as its segment closes. */
  constructor(traffic: TrafficCounts, onSplit: (split: MeasuredSplit) => void = () => undefined) {
    this.traffic = traffic;
    this.onSplit = onSplit;
  }

  /** Feeds one observed status; a change of canary, weight or outcome closes the current segment. */
  observe(s: ModelDeploymentStatus, now: number): void {
    if (s.canary) this.lastCanary = s.canary.name;
    const seg = segmentOf(s, this.lastCanary);
    if (seg?.key !== this.segment?.key) {
      this.close();
      if (seg) {
        this.traffic.take();
        this.segment = { ...seg, startedAt: now, settled: false };
      }
      return;
    }
    if (this.segment && !this.segment.settled && now - this.segment.startedAt >= SETTLE_MS) {
      this.traffic.take();
      this.segment.settled = true;
    }
  }

  /** Closes the current segment, recording its split if it lasted past the settling time. */
  close(): void {
    const seg = this.segment;
    this.segment = undefined;
    if (!seg?.settled) return;
    const w = this.traffic.take();
    const answers = Object.values(w.byRevision).reduce((a, b) => a + b, 0);
    // Every failure the segment saw, of requests sent in it or still in flight from before; a
    // client timeout apart (a request that waited 5 s in a slow canary's queue is the bad
    // version's cost, a refused connection would be ours).
    const failed = [w.byStatus, w.carriedOver].flatMap((by) => Object.entries(by)).filter(([code]) => code !== '200').reduce((a, [, n]) => a + n, 0);
    const timedOut = w.network.timeout;
    const split: MeasuredSplit = { version: seg.version, weight: seg.weight, share: canaryShare(w, seg.revision), answers, errors: failed - timedOut, timedOut };
    this.splits.push(split);
    this.onSplit(split);
  }
}

/** What a status means for the split: the canary at a weight, promoted, rolled back, or nothing to measure. */
function segmentOf(s: ModelDeploymentStatus, lastCanary: string | undefined): Omit<Segment, 'startedAt' | 'settled'> | undefined {
  if (s.canary) {
    if (s.phase === 'RolledBack') return { key: `${s.canary.name}/rolled-back`, version: s.canary.version, revision: s.canary.name, weight: 'rolled back' };
    const w = s.canaryWeight ?? 0;
    return w > 0 ? { key: `${s.canary.name}/${w}`, version: s.canary.version, revision: s.canary.name, weight: w } : undefined;
  }
  if (s.stable && s.stable.name === lastCanary) {
    return { key: `${s.stable.name}/promoted`, version: s.stable.version, revision: s.stable.name, weight: 'promoted' };
  }
  return undefined;
}

/** A running status watch. */
export interface StatusWatch {
  /** The last status read. */
  latest(): ModelDeploymentStatus | undefined;
  /** Resolves with the first status that satisfies pred; rejects after timeoutMs with the last status. */
  until(what: string, pred: (s: ModelDeploymentStatus) => boolean, timeoutMs: number): Promise<ModelDeploymentStatus>;
  /** Feeds every status from now on to this split meter. */
  measure(meter: SplitMeter | undefined): void;
  stop(): void;
}

/** Polls read() every intervalMs, printing statusChanges through print. */
export function watchStatus(opts: {
  read: () => Promise<ModelDeploymentStatus | undefined>;
  steps: () => readonly StepView[];
  print: (line: string) => void;
  intervalMs?: number;
}): StatusWatch {
  let last: ModelDeploymentStatus | undefined;
  let meter: SplitMeter | undefined;
  let stopped = false;
  let lastError = '';
  const waiters = new Set<() => void>();
  const loop = async (): Promise<void> => {
    while (!stopped) {
      try {
        const s = await opts.read();
        if (s && !stopped) {
          for (const line of statusChanges(last, s, opts.steps())) opts.print(line);
          last = s;
          meter?.observe(s, Date.now());
          for (const w of [...waiters]) w();
        }
        lastError = '';
      } catch (err) {
        // A blip of the API server is not news; a lasting one is, once.
        const msg = (err as Error).message;
        if (msg !== lastError) opts.print(`(could not read the status: ${msg})`);
        lastError = msg;
      }
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 1_000));
    }
  };
  void loop();
  return {
    latest: () => last,
    until: (what, pred, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (last && pred(last)) {
            cleanup();
            resolve(last);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; ${describeStatus(last, opts.steps())}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
    measure: (m) => {
      meter = m;
    },
    stop: () => {
      stopped = true;
      meter?.close();
    },
  };
}
