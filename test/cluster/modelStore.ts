// A static HTTP model store on the node IP: pods download test models from it with their
// sha256, exercising the real download-and-verify path, with nothing leaving the machine.
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join, normalize } from 'node:path';
import { makeTempDir } from './process.ts';

/** A running model store. */
export interface ModelStore {
  /** Base URL, e.g. http://198.18.1.1:PORT */
  readonly url: string;
  /** Adds a file; returns its URL and sha256 (hex). */
  add(name: string, content: Uint8Array | string): { url: string; sha256: string };
  /** Requests served, by path (for assertions that a download really happened). */
  readonly hits: Map<string, number>;
  stop(): Promise<void>;
}

/** Starts the store on host (the node IP in real-node mode, loopback otherwise). */
export async function startModelStore(host: string): Promise<ModelStore> {
  const tmp = makeTempDir('models');
  const root = tmp.path;
  const hits = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    if (path.includes('..') || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(400).end('bad request\n');
      return;
    }
    const file = join(root, path);
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no such model file: ${path}\n`);
      return;
    }
    hits.set(path, (hits.get(path) ?? 0) + 1);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const url = `http://${host}:${port}`;
  return {
    url,
    hits,
    add: (name, content) => {
      const file = join(root, name);
      mkdirSync(join(file, '..'), { recursive: true });
      writeFileSync(file, content);
      return { url: `${url}/${name}`, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      tmp.remove();
    },
  };
}
