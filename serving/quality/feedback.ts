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
  predictions: number[];
  expires: number;
}

/** Bounded store of recent predictions. */
export class FeedbackStore {
  private readonly entries = new Map<string, Entry>();
  /** Most prediction rows held at once. */
  private readonly capacity: number;
  private rows = 0;
  /** Expiry of the oldest entry (a lower bound once it is forgotten early). */
  private oldestExpires = Infinity;
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

  /** Remembers the predictions of one request. */
  remember(id: string, predictions: number[]): void {
    this.forget(id);
    if (predictions.length === 0 || predictions.length > this.capacity) return;
    const now = this.now();
    // Every entry lives ttlMs, so the oldest expires first: until then (and while rows fit)
    // there is nothing to evict, and the common path allocates no iterator.
    if (this.rows + predictions.length > this.capacity || now >= this.oldestExpires) {
      this.oldestExpires = Infinity;
      // Map iteration is insertion order, so the first entries are the oldest.
      for (const [key, e] of this.entries) {
        if (this.rows + predictions.length <= this.capacity && e.expires > now) {
          this.oldestExpires = e.expires;
          break;
        }
        this.forget(key);
      }
    }
    const expires = now + this.ttlMs;
    if (this.entries.size === 0) this.oldestExpires = expires;
    this.entries.set(id, { predictions, expires });
    this.rows += predictions.length;
  }

  private forget(id: string): void {
    const e = this.entries.get(id);
    if (e === undefined) return;
    this.entries.delete(id);
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
