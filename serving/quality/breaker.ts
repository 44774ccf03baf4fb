// The data-quality circuit breaker: when most recent requests carry invalid inputs, the
// model is being fed garbage and its answers should not be trusted, so the server stops
// serving (503) until the inputs recover. Requests are still inspected while it is open,
// which is how it notices the recovery.
import { SlidingRatio } from './window.ts';

/** Breaker settings. */
export interface BreakerOptions {
  /** Bad-input share above which it opens. */
  threshold: number;
  /** Requests in the window; it never opens on fewer. */
  window: number;
}

/** Open/closed state over a window of request outcomes, with hysteresis. */
export class DataQualityBreaker {
  private readonly outcomes: SlidingRatio;
  private readonly opts: BreakerOptions;
  private open = false;

  constructor(opts: BreakerOptions) {
    this.opts = opts;
    this.outcomes = new SlidingRatio(opts.window);
  }

  /** Records whether one request's inputs were bad and updates the state. */
  record(bad: boolean): void {
    this.outcomes.add(bad);
    const ratio = this.outcomes.ratio();
    if (!this.open && this.outcomes.size() >= this.opts.window && ratio > this.opts.threshold) this.open = true;
    // Close at half the threshold so a rate hovering at the threshold does not flap.
    else if (this.open && ratio <= this.opts.threshold / 2) this.open = false;
  }

  /** True while traffic should be refused. */
  isOpen(): boolean {
    return this.open;
  }

  /** Bad-input share over the window. */
  badRatio(): number {
    return this.outcomes.ratio();
  }
}
