// A loopback TCP relay in front of the API server: stopping it breaks live watches and refuses new
// connections exactly as a lost network or a restarting API server would, without touching the server.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** A stoppable, restartable relay to one host:port. */
export class TcpProxy {
  private readonly target: { host: string; port: number };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  /** The local port; stable across stop()/start(). */
  port = 0;
  /** Connections accepted since the relay was made. */
  accepted = 0;

  constructor(target: string) {
    const url = new URL(target);
    this.target = { host: url.hostname, port: Number(url.port) };
  }

  /** Listens (again) on 127.0.0.1 at the same port as before, or a free one the first time. */
  async start(): Promise<void> {
    const server = createServer((client) => {
      this.accepted++;
      const upstream = connect(this.target.port, this.target.host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  /** Cuts every open connection and stops listening. */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** A copy of kc whose cluster server is this relay (the API server's cert covers 127.0.0.1). */
  kubeConfig(kc: KubeConfig): KubeConfig {
    const copy = new KubeConfig();
    copy.loadFromOptions({
      clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${this.port}` })),
      users: kc.users,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
    });
    return copy;
  }
}
