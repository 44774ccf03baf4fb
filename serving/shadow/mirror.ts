// Shadow mirroring: a sampled share of requests is re-sent to the shadow (canary) server
// after the caller's response is settled, and the two predictions are compared. The
// caller never waits for or sees the shadow: bounded concurrency (excess is dropped and
// counted), a deadline, a cap on the answer's size, and every failure ends in a counter.
// Mirrored requests carry the pod's own bearer token (both revisions mount the same Secret)
// and MIRROR_HEADER, so the canary records them apart from its live traffic.
import { request as httpRequest } from 'node:http';
import { MIRROR_HEADER } from '../../contract/routing.ts';
import { inferPath } from '../../contract/http.ts';
import { decodeInferResponse } from '../protocol/codec.ts';
import type { EncodedResponse } from '../protocol/codec.ts';
import { agrees, predictionsOf } from '../quality/prediction.ts';
import type { PredictionRule } from '../quality/prediction.ts';
import type { ShadowTarget } from './routing.ts';

/** What one mirrored POST got back. */
interface ShadowAnswer {
  status: number;
  body: Buffer;
  headerLength?: string;
}

/**
 * POSTs on a new connection. The shadow URL is a Service's virtual IP: kube-proxy picks a
 * backend per connection, so a pooled keep-alive connection would stay pinned to whatever
 * pod served it first — after the Service moves to a new canary, mirrored requests would
 * still reach the old one (often the stable revision itself, which always "agrees").
 * The whole exchange has a deadline (a shadow trickling bytes must not hold a slot for ever)
 * and the answer a size cap (it is buffered to be decoded).
 */
function postFresh(url: string, headers: Record<string, string>, body: Uint8Array | string, t: Pick<ShadowTarget, 'timeoutMs' | 'maxResponseBytes'>): Promise<ShadowAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (declared > t.maxResponseBytes) return req.destroy(new Error(`shadow answer of ${declared} bytes exceeds ${t.maxResponseBytes}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > t.maxResponseBytes) req.destroy(new Error(`shadow answer exceeds ${t.maxResponseBytes} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const len = res.headers['inference-header-content-length'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ...(typeof len === 'string' ? { headerLength: len } : {}) });
      });
    });
    const deadline = setTimeout(() => req.destroy(new Error(`shadow did not answer within ${t.timeoutMs} ms`)), t.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
    req.end(body);
  });
}

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
      const res = await postFresh(`${t.url}${inferPath(this.modelName)}`, this.headers(body), body.body, t);
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
