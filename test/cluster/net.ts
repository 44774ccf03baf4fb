// Small network helpers: free loopback ports and polling until something is ready.
import { createServer } from 'node:net';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';

const handedOut = new Set<number>();

/** A currently free TCP port on host (never the same one twice per process). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, host, () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Polls check() until it returns a value, or throws describe()'s text after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let lastError: unknown;
  for (;;) {
    const aborted = opts.abort?.();
    if (aborted) throw new Error(`${what}: ${aborted}`);
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out after ${opts.timeoutMs ?? 60_000} ms waiting for ${what}${why}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
}

/** Result of a simple HTTP(S) GET. */
export interface HttpResult {
  status: number;
  body: string;
}

/** GET a URL; https with an optional CA and bearer token. */
export function httpGet(url: string, opts: { ca?: string; token?: string; insecure?: boolean } = {}): Promise<HttpResult> {
  const u = new URL(url);
  const headers: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  return new Promise((resolve, reject) => {
    const onResponse = (res: import('node:http').IncomingMessage): void => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    };
    const req =
      u.protocol === 'https:'
        ? request(u, { headers, ca: opts.ca, rejectUnauthorized: !opts.insecure, timeout: 5000 }, onResponse)
        : httpRequest(u, { headers, timeout: 5000 }, onResponse);
    req.once('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.once('error', reject);
    req.end();
  });
}
