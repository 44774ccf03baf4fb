// Shadow mirroring: a sampled share of requests is re-sent to the shadow (canary) server
// after the caller's response is settled, and the two predictions are compared. The
// caller never waits for or sees the shadow: bounded concurrency (excess is dropped and
// counted), a timeout, and every failure ends in a counter.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { decodeInferResponse } from '../protocol/codec.ts';
import type { EncodedResponse } from '../protocol/codec.ts';
import { agrees, predictionsOf } from '../quality/prediction.ts';
import type { PredictionRule } from '../quality/prediction.ts';
import type { ShadowTarget } from './routing.ts';

/**
 * POSTs on a new connection. The shadow URL is a Service's virtual IP: kube-proxy picks a
 * backend per connection, so a pooled keep-alive connection would stay pinned to whatever
 * pod served it first — after the Service moves to a new canary, mirrored requests would
 * still reach the old one (often the stable revision itself, which always "agrees").
 */
function postFresh(url: string, headers: Record<string, string>, body: Uint8Array | string, timeoutMs: number): Promise<{ status: number; body: Buffer; headerLength?: string }> {
  return new Promise((resolve, reject) => {
    const send = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', agent: false, timeout: timeoutMs, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const len = res.headers['inference-header-content-length'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ...(typeof len === 'string' ? { headerLength: len } : {}) });
      });
    });
    req.on('timeout', () => req.destroy(new Error(`shadow did not answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Result label of one comparison. */
export type ShadowResult = 'agree' | 'disagree' | 'error' | 'dropped';

/** Receives comparison results; labels are bounded (4 results × shadow revisions). */
export type ShadowCounter = (result: ShadowResult, shadowRevision: string, rows: number) => void;

/** Mirrors sampled requests to the current shadow target. */
export class ShadowMirror {
  private readonly modelName: string;
  private readonly rule: PredictionRule;
  private readonly count: ShadowCounter;
  private readonly random: () => number;
  private current: ShadowTarget | undefined;
  private inflight = new Set<Promise<void>>();

  constructor(modelName: string, rule: PredictionRule, count: ShadowCounter, random: () => number = Math.random) {
    this.modelName = modelName;
    this.rule = rule;
    this.count = count;
    this.random = random;
  }

  /** Replaces the target (undefined stops mirroring). */
  setTarget(target: ShadowTarget | undefined): void {
    this.current = target;
  }

  /** The current target. */
  target(): ShadowTarget | undefined {
    return this.current;
  }

  /** Decides whether this request is mirrored (before its tensors go to a worker). */
  sample(): boolean {
    const t = this.current;
    return t !== undefined && t.sampleRate > 0 && this.random() < t.sampleRate;
  }

  /** Sends a sampled request to the shadow and compares; returns at once, never throws. */
  send(body: EncodedResponse, predictions: number[]): void {
    const t = this.current;
    if (t === undefined) return;
    if (this.inflight.size >= t.maxConcurrency) {
      this.count('dropped', t.revision, predictions.length);
      return;
    }
    const p = this.compare(t, body, predictions).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Resolves when every mirrored request has finished (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.all([...this.inflight]);
  }

  private async compare(t: ShadowTarget, body: EncodedResponse, predictions: number[]): Promise<void> {
    try {
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (body.headerLength !== undefined) headers['inference-header-content-length'] = String(body.headerLength);
      else headers['content-type'] = 'application/json';
      const url = `${t.url.replace(/\/+$/, '')}/v2/models/${encodeURIComponent(this.modelName)}/infer`;
      const res = await postFresh(url, headers, body.body, t.timeoutMs);
      if (res.status < 200 || res.status >= 300) {
        this.count('error', t.revision, predictions.length);
        return;
      }
      const len = res.headerLength;
      const decoded = decodeInferResponse(res.body, len === undefined ? undefined : Number(len));
      const theirs = predictionsOf(decoded.outputs, this.rule);
      if (theirs.length !== predictions.length) {
        this.count('error', t.revision, predictions.length);
        return;
      }
      let agree = 0;
      predictions.forEach((p, i) => {
        if (agrees(this.rule.task, p, theirs[i]!)) agree++;
      });
      if (agree > 0) this.count('agree', t.revision, agree);
      if (agree < predictions.length) this.count('disagree', t.revision, predictions.length - agree);
    } catch {
      this.count('error', t.revision, predictions.length);
    }
  }
}
