// Time as an injected dependency, so queue and election logic can be tested without sleeping.

/** A cancellable one-shot timer. */
export interface Timer {
  /** Cancels the timer; a no-op when it already fired. */
  cancel(): void;
}

/** The time source and timer factory every runtime component takes. */
export interface Clock {
  /** Milliseconds since an arbitrary, monotonic origin. */
  now(): number;
  /** Runs fn once after ms milliseconds. */
  setTimer(fn: () => void, ms: number): Timer;
}

/** The process clock: monotonic time and real timers that never keep the process alive. */
export const realClock: Clock = {
  now: () => performance.now(),
  setTimer(fn, ms) {
    // unref: a pending requeue must not stop the process from exiting once everything else stopped.
    const handle = setTimeout(fn, Math.max(0, ms));
    handle.unref();
    return { cancel: () => clearTimeout(handle) };
  },
};

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that moves only when told to: timers fire in due order inside advance(). */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: ManualTimer[] = [];

  constructor(start = 0) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimer(fn: () => void, ms: number): Timer {
    const timer: ManualTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.timers.push(timer);
    return { cancel: () => (timer.cancelled = true) };
  }

  /** Number of timers still due to fire. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by ms, firing every timer that falls due, earliest (then oldest) first. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => !t.cancelled && t.at <= target)
        .sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!due) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.current = due.at;
      due.fn();
    }
    this.timers = this.timers.filter((t) => !t.cancelled);
    this.current = target;
  }
}
