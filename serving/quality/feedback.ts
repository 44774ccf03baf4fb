// Ground truth arrives after the prediction (a label from a later event). The store keeps
// recent predictions by request id, bounded in stored rows and age, and scores labels
// against them. Bounded under any volume: inserting beyond capacity evicts the oldest
// entries, and a request with more rows than the whole capacity is not kept at all.
import type { Task } from './prediction.ts';

/** One labelled request as posted to the feedback route. */
export interface FeedbackItem {
  id: string;
  /** One label per row of the original request (a single number for one-row requests). */
  label: number | number[];
}

/** What scoring a batch of feedback found. */
export interface FeedbackResult {
  /** Rows that were matched to a prediction and scored. */
  scored: number;
  /** Classifier rows whose predicted class equals the label. */
  correct: number;
  /** Sum of |prediction − label| over scored rows (regressors). */
  absoluteErrors: number[];
  /** Ids that are unknown, expired or already scored. */
  unknown: string[];
  /** Ids whose label count does not match the prediction's row count. */
  mismatched: string[];
}

interface Entry {
  id: string;
  predictions: number[];
  expires: number;
  /** False once forgotten: its slot in the queue is then skipped, not searched for. */
  live: boolean;
}

// Below this many dead slots the queue is never compacted: copying it would cost more than
// the slots it frees.
const MIN_COMPACTION = 1024;

/** Bounded store of recent predictions; insert and eviction cost O(1) amortised at any fill level. */
export class FeedbackStore {
  private readonly entries = new Map<string, Entry>();
  /**
   * Entries in insertion order, oldest first, from `head`: every entry lives ttlMs, so the
   * oldest is both the first to expire and the first to evict. Forgotten entries stay as
   * dead slots until eviction passes them or a compaction drops them. (Iterating a Map from
   * its head instead walks the holes deletions leave, which made every insert at capacity
   * cost O(capacity).)
   */
  private queue: (Entry | undefined)[] = [];
  private head = 0;
  /** Most prediction rows held at once. */
  private readonly capacity: number;
  private rows = 0;
  private steps = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(capacity: number, ttlMs: number, now: () => number = Date.now) {
    this.capacity = capacity;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  /** Entries held. */
  size(): number {
    return this.entries.size;
  }

  /** Prediction rows held. */
  heldRows(): number {
    return this.rows;
  }

  /** Queue slots eviction and compaction have visited so far: the store's work, for tests to bound. */
  work(): number {
    return this.steps;
  }

  /** Remembers the predictions of one request. */
  remember(id: string, predictions: number[]): void {
    this.forget(id);
    if (predictions.length === 0 || predictions.length > this.capacity) return;
    const now = this.now();
    this.evict(now, predictions.length);
    const entry: Entry = { id, predictions, expires: now + this.ttlMs, live: true };
    this.entries.set(id, entry);
    this.queue.push(entry);
    this.rows += predictions.length;
    this.compact();
  }

  /** Drops dead slots, then the oldest entries while `incoming` rows would not fit or they expired. */
  private evict(now: number, incoming: number): void {
    while (this.head < this.queue.length) {
      const e = this.queue[this.head]!;
      if (e.live && this.rows + incoming <= this.capacity && e.expires > now) return;
      if (e.live) this.forget(e.id);
      this.queue[this.head++] = undefined; // let it be collected
      this.steps++;
    }
  }

  /**
   * Copies the live entries to a fresh queue once dead slots (passed or forgotten) outnumber
   * them: a copy visits at most the slots inserted or forgotten since the last one, so the
   * cost is O(1) amortised per remember or score.
   */
  private compact(): void {
    if (this.queue.length - this.entries.size <= Math.max(MIN_COMPACTION, this.entries.size)) return;
    const live: Entry[] = [];
    for (let i = this.head; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      if (e.live) live.push(e);
    }
    this.steps += this.queue.length - this.head;
    this.queue = live;
    this.head = 0;
  }

  private forget(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
    e.live = false;
    this.rows -= e.predictions.length;
  }

  /** Scores labels; each id is consumed so a label cannot be counted twice. */
  score(items: readonly FeedbackItem[], task: Task): FeedbackResult {
    const result: FeedbackResult = { scored: 0, correct: 0, absoluteErrors: [], unknown: [], mismatched: [] };
    const now = this.now();
    for (const item of items) {
      const e = this.entries.get(item.id);
      if (e === undefined || e.expires <= now) {
        this.forget(item.id);
        result.unknown.push(item.id);
        continue;
      }
      const labels = Array.isArray(item.label) ? item.label : [item.label];
      if (labels.length !== e.predictions.length) {
        result.mismatched.push(item.id);
        continue;
      }
      this.forget(item.id);
      labels.forEach((label, i) => {
        const p = e.predictions[i]!;
        result.scored++;
        if (task === 'classifier') {
          if (p === label) result.correct++;
        } else {
          result.absoluteErrors.push(Math.abs(p - label));
        }
      });
    }
    return result;
  }
}
