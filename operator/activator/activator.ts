// The activator: while a model is at zero its Services point here (one port per model), and a
// request is held — never refused for want of a pod — while the operator wakes the model; once
// one of the model's pods is Ready, every held request is forwarded to it as it came (method,
// path, headers, body) and the answer relayed. Bounded everywhere: held requests per model and
// in all, body bytes, and how long a request is held (then 503 with Retry-After). It forwards
// only to the IPs of the model's own Ready pods, taken from the operator's pod cache.
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../runtime/logger.ts';
import { allocatePort, type PortRange } from './ports.ts';

/** How much the activator holds, and for how long. */
export interface HoldLimits {
  /** Requests held for one model at a time; more get 503 with Retry-After. */
  maxHeldPerModel: number;
  /** Requests held for all models at a time. */
  maxHeldTotal: number;
  /** Largest request body held (the serving runtime's own default limit); larger gets 413. */
  maxBodyBytes: number;
  /** How long a request waits for a Ready pod before 503 with Retry-After. */
  holdTimeoutMs: number;
}

/** The defaults: a cold start loads a model, which takes seconds, not minutes. */
export const DEFAULT_HOLD_LIMITS: HoldLimits = { maxHeldPerModel: 100, maxHeldTotal: 1000, maxBodyBytes: 32 * 1024 ** 2, holdTimeoutMs: 120_000 };

/** What the activator needs from the operator. */
export interface ActivatorOptions {
  /** Where to listen (all interfaces by default: kube-proxy sends to the advertised address). */
  host?: string;
  /** The address the EndpointSlices name: the operator pod's IP. */
  address: string;
  ports: PortRange;
  limits?: Partial<HoldLimits>;
  /** The IP and port of a Ready pod of the model ("namespace/name"), if one exists. */
  readyPod(key: string): { ip: string; port: number } | undefined;
  /** Asks the operator to wake the model: called when a request is held. */
  wake(key: string): void;
  registry?: Registry;
  logger?: Logger;
}

/** One request held until a pod is Ready. */
interface Held {
  req: IncomingMessage;
  res: ServerResponse;
  body: Buffer;
  since: number;
  timer: NodeJS.Timeout;
}

/**
 * Request outcomes, the label values of siskin_activator_requests_total: forwarded to a pod;
 * timed_out (no pod Ready within the hold timeout, 503); rejected (over the hold bounds, 503);
 * too_large (body over the limit, 413: the client's fault); cancelled (the client left);
 * failed (no pod answered, or the activator stopped holding for the model, 503).
 */
export const ACTIVATOR_OUTCOMES = ['forwarded', 'timed_out', 'rejected', 'too_large', 'cancelled', 'failed'] as const;
type Outcome = (typeof ACTIVATOR_OUTCOMES)[number];

/** The labels of the activator's series: the ModelDeployment, like the operator's own series. */
type ModelLabels = { namespace: string; name: string };

function modelLabels(key: string): ModelLabels {
  const slash = key.indexOf('/');
  return slash < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

// Headers of one hop only (RFC 9110 §7.6.1): not forwarded either way.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** How often held requests look for a Ready pod. */
const POLL_MS = 50;
/** How often a model with held requests is asked to wake again (the queue deduplicates). */
const WAKE_EVERY_MS = 1_000;

/** The activator: listeners per model port, the held requests, and their forwarding. */
export class Activator {
  readonly address: string;
  private readonly opts: ActivatorOptions;
  private readonly limits: HoldLimits;
  private readonly servers = new Map<number, { key: string; server: Server }>();
  private readonly held = new Map<string, Held[]>();
  private readonly lastWake = new Map<string, number>();
  private readonly inFlight = new Set<Promise<void>>();
  private poll: NodeJS.Timeout | undefined;
  private total = 0;
  private stopped = false;
  private readonly requests: Counter<'namespace' | 'name' | 'outcome'>;
  private readonly heldGauge: Gauge<'namespace' | 'name'>;
  private readonly waitSeconds: Histogram<'namespace' | 'name'>;

  constructor(opts: ActivatorOptions) {
    this.opts = opts;
    this.address = opts.address;
    this.limits = { ...DEFAULT_HOLD_LIMITS, ...opts.limits };
    const registers = opts.registry ? [opts.registry] : [];
    const labelNames = ['namespace', 'name'] as const;
    this.requests = new Counter({ name: 'siskin_activator_requests_total', help: 'Requests that reached the activator for a model, by outcome.', labelNames: [...labelNames, 'outcome'], registers });
    this.heldGauge = new Gauge({ name: 'siskin_activator_held_requests', help: "Requests held now for a model, waiting for one of its pods to be Ready.", labelNames, registers });
    this.waitSeconds = new Histogram({
      name: 'siskin_activator_hold_duration_seconds',
      help: 'How long a request was held before its forwarding started (the cold start it saw).',
      labelNames,
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120],
      registers,
    });
  }

  /** The model's port: the one recorded in status while still free, else a fresh one (or why none is free). */
  portFor(key: string, recorded: number | undefined, recordedByOthers: ReadonlyMap<number, string>): { port: number } | { error: string } {
    const taken = new Map(recordedByOthers);
    for (const [port, s] of this.servers) if (s.key !== key) taken.set(port, s.key);
    return allocatePort(key, recorded, taken, this.opts.ports);
  }

  /** Listens on the model's port (once); a model moved to another port leaves its old one. */
  async serve(key: string, port: number): Promise<void> {
    if (this.stopped) return;
    const current = this.servers.get(port);
    if (current?.key === key) return;
    if (current) throw new Error(`activator port ${port} is already serving ${current.key}`);
    for (const [p, s] of this.servers) if (s.key === key) await this.close(p);
    const server = createServer((req, res) => this.track(this.handle(key, req, res)));
    // A slow client must not hold a socket for ever; the hold timeout bounds the rest.
    server.requestTimeout = this.limits.holdTimeoutMs + 30_000;
    this.servers.set(port, { key, server });
    // Every series of the model exists from the start, so rates and alerts see the first request.
    const labels = modelLabels(key);
    for (const outcome of ACTIVATOR_OUTCOMES) this.requests.inc({ ...labels, outcome }, 0);
    this.heldGauge.set(labels, this.held.get(key)?.length ?? 0);
    this.waitSeconds.zero(labels);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.opts.host ?? '0.0.0.0', () => resolve());
      });
    } catch (err) {
      this.servers.delete(port);
      throw err;
    }
    this.opts.logger?.info({ model: key, port: (server.address() as AddressInfo).port }, 'activator listening');
  }

  /**
   * Stops listening for a model (no longer able to scale to zero, or deleted); its held
   * requests are answered 503, and its series go, like the operator's for a deleted model.
   */
  async release(key: string): Promise<void> {
    let served = false;
    for (const [p, s] of this.servers) {
      if (s.key !== key) continue;
      served = true;
      await this.close(p);
    }
    if (!served) return;
    const labels = modelLabels(key);
    for (const outcome of ACTIVATOR_OUTCOMES) this.requests.remove({ ...labels, outcome });
    this.heldGauge.remove(labels);
    this.waitSeconds.remove(labels);
  }

  /** True while requests for the model are held: the operator wakes it. */
  demand(key: string): boolean {
    return (this.held.get(key)?.length ?? 0) > 0;
  }

  /** Stops every listener; held requests get 503 with Retry-After (another leader takes over). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poll) clearInterval(this.poll);
    for (const key of [...this.held.keys()]) for (const h of this.take(key)) this.answer(key, h.res, 503, 'the activator is shutting down; retry', 'failed');
    await Promise.all([...this.servers.keys()].map((p) => this.close(p)));
    await Promise.all([...this.inFlight]);
  }

  private async close(port: number): Promise<void> {
    const s = this.servers.get(port);
    if (!s) return;
    this.servers.delete(port);
    for (const h of this.take(s.key)) this.answer(s.key, h.res, 503, 'the model no longer scales to zero here; retry', 'failed');
    s.server.closeAllConnections();
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  /** One request: read its body (bounded), then forward it now or hold it. */
  private async handle(key: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await this.readBody(key, req, res);
    if (!body) return;
    const pod = this.opts.readyPod(key);
    // A pod is Ready already (the Services are switching back): forwarded, never held.
    if (pod && !this.demand(key)) return this.forward(key, req, res, body, Date.now());
    const queue = this.held.get(key) ?? [];
    if (queue.length >= this.limits.maxHeldPerModel || this.total >= this.limits.maxHeldTotal) {
      return this.answer(key, res, 503, `too many requests are waiting for ${key} to wake up; retry`, 'rejected');
    }
    const since = Date.now();
    const h: Held = { req, res, body, since, timer: setTimeout(() => this.expire(key, h), this.limits.holdTimeoutMs) };
    queue.push(h);
    this.held.set(key, queue);
    this.total++;
    this.heldGauge.set(modelLabels(key), queue.length);
    // A client that gives up is no longer held.
    res.once('close', () => {
      if (this.remove(key, h)) this.count(key, 'cancelled');
    });
    this.askToWake(key, since);
    this.poll ??= setInterval(() => this.pump(), POLL_MS);
    this.pump();
  }

  /** Reads the body up to the limit; answers 413 (a client error) beyond it. */
  private async readBody(key: string, req: IncomingMessage, res: ServerResponse): Promise<Buffer | undefined> {
    const max = this.limits.maxBodyBytes;
    const declared = Number(req.headers['content-length'] ?? 0);
    const tooLarge = (): undefined => {
      res.setHeader('connection', 'close');
      this.answer(key, res, 413, `the request body exceeds ${max} bytes`, 'too_large');
      req.resume();
      return undefined;
    };
    if (declared > max) return tooLarge();
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > max) return tooLarge();
        chunks.push(chunk);
      }
    } catch {
      this.count(key, 'cancelled');
      return undefined;
    }
    return Buffer.concat(chunks);
  }

  private askToWake(key: string, at: number): void {
    if (at - (this.lastWake.get(key) ?? 0) < WAKE_EVERY_MS) return;
    this.lastWake.set(key, at);
    this.opts.wake(key);
  }

  /** Forwards what is held for every model that has a Ready pod; asks again to wake the others. */
  private pump(): void {
    const now = Date.now();
    for (const key of [...this.held.keys()]) {
      const pod = this.opts.readyPod(key);
      if (!pod) {
        this.askToWake(key, now);
        continue;
      }
      for (const h of this.take(key)) this.track(this.forward(key, h.req, h.res, h.body, h.since));
    }
    if (this.total === 0 && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  /** Removes and returns every request held for a model, their timers cleared. */
  private take(key: string): Held[] {
    const queue = this.held.get(key) ?? [];
    this.held.delete(key);
    this.total -= queue.length;
    if (queue.length > 0) this.heldGauge.set(modelLabels(key), 0);
    for (const h of queue) clearTimeout(h.timer);
    return queue;
  }

  private remove(key: string, h: Held): boolean {
    const queue = this.held.get(key);
    const i = queue?.indexOf(h) ?? -1;
    if (!queue || i < 0) return false;
    queue.splice(i, 1);
    if (queue.length === 0) this.held.delete(key);
    clearTimeout(h.timer);
    this.total--;
    this.heldGauge.set(modelLabels(key), queue.length);
    return true;
  }

  private expire(key: string, h: Held): void {
    if (!this.remove(key, h)) return;
    this.answer(key, h.res, 503, `${key} did not become ready within ${this.limits.holdTimeoutMs / 1000} s; retry`, 'timed_out');
  }

  /**
   * Sends the request to a Ready pod and relays the answer. The body is in memory, so a pod
   * that refuses the connection (it just went away) is retried on another until the hold
   * timeout: a request that reached the activator is answered by the model or by a 503.
   */
  private async forward(key: string, req: IncomingMessage, res: ServerResponse, body: Buffer, since: number): Promise<void> {
    this.waitSeconds.observe(modelLabels(key), (Date.now() - since) / 1000);
    const deadline = since + this.limits.holdTimeoutMs;
    const headers = forwardedHeaders(req.headers, body.length);
    for (;;) {
      const pod = this.opts.readyPod(key);
      const upstream = pod ? await send(pod, req.method ?? 'GET', req.url ?? '/', headers, body, Math.max(1_000, deadline - Date.now())).catch((err: unknown) => {
        this.opts.logger?.debug({ model: key, pod: pod.ip, err }, 'activator: forwarding failed; retrying');
        return undefined;
      }) : undefined;
      if (upstream) {
        res.writeHead(upstream.statusCode ?? 502, responseHeaders(upstream.headers));
        upstream.pipe(res);
        await new Promise<void>((resolve) => res.once('close', () => resolve()));
        this.count(key, 'forwarded');
        return;
      }
      if (res.destroyed) return this.count(key, 'cancelled');
      if (Date.now() >= deadline || this.stopped) return this.answer(key, res, 503, `no pod of ${key} answered within ${this.limits.holdTimeoutMs / 1000} s; retry`, 'failed');
      await new Promise((r) => setTimeout(r, POLL_MS * 4));
    }
  }

  private count(key: string, outcome: Outcome): void {
    this.requests.inc({ ...modelLabels(key), outcome });
  }

  private answer(key: string, res: ServerResponse, status: number, message: string, outcome: Outcome): void {
    this.count(key, outcome);
    if (res.headersSent || res.destroyed) return void res.destroy();
    const body = JSON.stringify({ error: message });
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(status === 503 ? { 'retry-after': '5' } : {}) });
    res.end(body);
  }
}

/** The request's headers for the pod: no hop-by-hop ones, the length of the body as held. */
function forwardedHeaders(h: IncomingHttpHeaders, length: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k) && k !== 'content-length') out[k] = v;
  out['content-length'] = String(length);
  return out;
}

/** The pod's answer headers for the client, without hop-by-hop ones. */
function responseHeaders(h: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

/** One HTTP request to a pod; resolves with its response once the headers arrived. */
function send(pod: { ip: string; port: number }, method: string, path: string, headers: Record<string, string | string[]>, body: Buffer, timeoutMs: number): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const r = httpRequest({ host: pod.ip, port: pod.port, method, path, headers, timeout: timeoutMs }, resolve);
    r.once('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    r.once('error', reject);
    r.end(body);
  });
}
