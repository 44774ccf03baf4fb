// The operator's probe and metrics endpoints. /readyz reports informer sync only, not leadership:
// a standby replica with warm caches is ready to take over, and a readiness that required the
// lease would keep every standby NotReady and stall the Deployment's rolling updates (this is
// controller-runtime's behaviour too).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** A named readiness check; the operator is ready when all pass. */
export interface ReadinessCheck {
  name: string;
  check: () => boolean;
}

/** What the server serves. */
export interface OperatorServerOptions {
  /** The registry behind /metrics. */
  registry: Registry;
  /** Checks behind /readyz (typically: every informer has synced). */
  readiness: ReadinessCheck[];
  /** Checks behind /healthz; none means "alive while the event loop answers". */
  liveness?: ReadinessCheck[];
}

/** A started server. */
export interface OperatorServer {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting and closes idle and open connections. */
  close(): Promise<void>;
}

function report(res: ServerResponse, checks: ReadinessCheck[], verbose: boolean): void {
  const failed = checks.filter((c) => !safe(c.check));
  res.statusCode = failed.length === 0 ? 200 : 503;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  if (!verbose) {
    res.end(failed.length === 0 ? 'ok\n' : `failed: ${failed.map((c) => c.name).join(', ')}\n`);
    return;
  }
  // ?verbose lists every check, as the Kubernetes components' own /readyz does.
  res.end(checks.map((c) => `[${failed.includes(c) ? '-' : '+'}]${c.name} ${failed.includes(c) ? 'failed' : 'ok'}`).join('\n') + '\n');
}

function safe(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** Builds the request handler (separate from listen() so tests can call it on any server). */
export function buildHandler(opts: OperatorServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const verbose = url.searchParams.has('verbose');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.statusCode = 405;
      res.setHeader('allow', 'GET, HEAD');
      res.end();
      return;
    }
    switch (url.pathname) {
      case '/healthz':
        report(res, opts.liveness ?? [], verbose);
        return;
      case '/readyz':
        report(res, opts.readiness, verbose);
        return;
      case '/metrics':
        opts.registry.metrics().then(
          (body) => {
            res.setHeader('content-type', opts.registry.contentType);
            res.end(body);
          },
          (err: unknown) => {
            res.statusCode = 500;
            res.end(`collecting metrics failed: ${String(err)}\n`);
          },
        );
        return;
      default:
        res.statusCode = 404;
        res.end('not found\n');
    }
  };
}

/** Starts the server on host:port (port 0 picks a free one). */
export async function startServer(opts: OperatorServerOptions & { host: string; port: number }): Promise<OperatorServer> {
  const server: Server = createServer(buildHandler(opts));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Prometheus keeps connections alive; without this close() waits for their idle timeout.
        server.closeAllConnections();
      }),
  };
}
