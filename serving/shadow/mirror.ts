// Shadow mirroring: a sampled share of requests is re-sent to the shadow (canary) server
// after the caller's response is settled, and the two predictions are compared. The
// caller never waits for or sees the shadow: bounded concurrency (excess is dropped and
// counted), a deadline, a cap on the answer's size, and every failure ends in a counter.
// Mirrored requests carry the pod's own bearer token (both revisions mount the same Secret)
// and MIRROR_HEADER, so the canary records them apart from its live traffic.
import { MIRROR_HEADER } from '../../contract/routing.ts';
import { inferPath } from '../../contract/http.ts';
import { postToPeer } from '../peerHttp.ts';
import { decodeInferResponse } from '../protocol/codec.ts';
import type { EncodedResponse } from '../protocol/codec.ts';
import { agrees, predictionsOf } from '../quality/prediction.ts';
import type { PredictionRule } from '../quality/prediction.ts';
import type { ShadowTarget } from './routing.ts';

/** Result label of one comparison. */
export type ShadowResult = 'agree' | 'disagree' | 'error' | 'dropped';

/** Receives comparison results; labels are bounded (4 results × shadow revisions). */
export type ShadowCounter = (result: ShadowResult, shadowRevision: string, rows: number) => void;

/** How the mirror identifies itself to the shadow. */
export interface MirrorIdentity {
  /** This server's revision, sent in MIRROR_HEADER. */
  revision: string;
  /** The bearer token to send (read at each request, so a rotated Secret is followed); undefined sends none. */
  token?: () => string | undefined;
  /** The sampling source (tests pin it). */
  random?: () => number;
}

/** Mirrors sampled requests to the current shadow target. */
export class ShadowMirror {
  private readonly modelName: string;
  private readonly rule: PredictionRule;
  private readonly count: ShadowCounter;
  private readonly identity: MirrorIdentity;
  private readonly random: () => number;
  private current: ShadowTarget | undefined;
  private inflight = new Set<Promise<void>>();

  constructor(modelName: string, rule: PredictionRule, count: ShadowCounter, identity: MirrorIdentity) {
    this.modelName = modelName;
    this.rule = rule;
    this.count = count;
    this.identity = identity;
    this.random = identity.random ?? Math.random;
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

  private headers(body: EncodedResponse): Record<string, string> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', [MIRROR_HEADER]: this.identity.revision };
    if (body.headerLength !== undefined) headers['inference-header-content-length'] = String(body.headerLength);
    else headers['content-type'] = 'application/json';
    const token = this.identity.token?.();
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    return headers;
  }

  private async compare(t: ShadowTarget, body: EncodedResponse, predictions: number[]): Promise<void> {
    try {
      const res = await postToPeer(`${t.url}${inferPath(this.modelName)}`, this.headers(body), body.body, t);
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
