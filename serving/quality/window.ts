// Count-based sliding windows: the last N observations, O(1) per observation and fixed
// memory, so statistics follow recent traffic without any clock.

/** Histogram over the last `capacity` bin observations; bin -1 counts as missing (NaN). */
export class SlidingHistogram {
  private readonly ring: Int32Array;
  private readonly binCounts: number[];
  private next = 0;
  private filled = 0;
  private missingCount = 0;

  constructor(bins: number, capacity: number) {
    this.ring = new Int32Array(capacity);
    this.binCounts = new Array<number>(bins).fill(0);
  }

  /** Adds one observation, evicting the oldest once the window is full. */
  add(bin: number): void {
    if (this.filled === this.ring.length) this.remove(this.ring[this.next]!);
    else this.filled++;
    this.ring[this.next] = bin;
    this.next = (this.next + 1) % this.ring.length;
    if (bin < 0) this.missingCount++;
    else this.binCounts[bin] = (this.binCounts[bin] ?? 0) + 1;
  }

  private remove(bin: number): void {
    if (bin < 0) this.missingCount--;
    else this.binCounts[bin] = (this.binCounts[bin] ?? 0) - 1;
  }

  /** Counts per bin in the window (missing excluded). */
  counts(): readonly number[] {
    return this.binCounts;
  }

  /** Observations in the window. */
  size(): number {
    return this.filled;
  }

  /** Share of missing observations in the window (0 when empty). */
  missingRatio(): number {
    return this.filled === 0 ? 0 : this.missingCount / this.filled;
  }
}

/** The share of `true` among the last `capacity` boolean observations. */
export class SlidingRatio {
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private trues = 0;

  constructor(capacity: number) {
    this.ring = new Uint8Array(capacity);
  }

  /** Adds one observation. */
  add(value: boolean): void {
    if (this.filled === this.ring.length) this.trues -= this.ring[this.next]!;
    else this.filled++;
    this.ring[this.next] = value ? 1 : 0;
    this.trues += value ? 1 : 0;
    this.next = (this.next + 1) % this.ring.length;
  }

  /** Observations in the window. */
  size(): number {
    return this.filled;
  }

  /** Share of true observations (0 when empty). */
  ratio(): number {
    return this.filled === 0 ? 0 : this.trues / this.filled;
  }
}
