// Fetches model bytes from a file:// path or an http(s):// URL, enforcing a size limit
// while reading and verifying the sha256 before anything parses the bytes.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ModelLoadError } from '../errors.ts';

/** Where a model comes from and what it must hash to. */
export interface ModelSource {
  uri: string;
  /** Lowercase hex; required for http(s), optional for file://. */
  sha256: string | undefined;
  maxBytes: number;
  /** Abort a download that takes longer than this. */
  timeoutMs?: number;
}

/** Hex sha256 of bytes. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Reads the model and returns its verified bytes; throws ModelLoadError on any problem. */
export async function fetchModel(source: ModelSource): Promise<Uint8Array> {
  const url = new URL(source.uri);
  let bytes: Uint8Array;
  if (url.protocol === 'file:') {
    bytes = await readLocal(fileURLToPath(url), source.maxBytes);
  } else if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (source.sha256 === undefined) throw new ModelLoadError(`a sha256 is required to load ${redact(url)}`);
    bytes = await download(url, source.maxBytes, source.timeoutMs ?? 300_000);
  } else {
    throw new ModelLoadError(`unsupported model URI scheme "${url.protocol}"`);
  }
  if (source.sha256 !== undefined) {
    const actual = sha256Hex(bytes);
    if (actual !== source.sha256) {
      throw new ModelLoadError(`sha256 mismatch for ${redact(url)}: expected ${source.sha256}, got ${actual}`);
    }
  }
  return bytes;
}

/** URLs may carry credentials (user:pass@ or signed query strings); never log them. */
function redact(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

async function readLocal(path: string, maxBytes: number): Promise<Uint8Array> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new ModelLoadError(`cannot read model file ${path}: ${(err as Error).message}`);
  }
  if (size > maxBytes) throw new ModelLoadError(`model file ${path} is ${size} bytes, over the limit of ${maxBytes}`);
  return new Uint8Array(await readFile(path));
}

async function download(url: URL, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
  } catch (err) {
    throw new ModelLoadError(`cannot download ${redact(url)}: ${(err as Error).message}`);
  }
  if (!res.ok || res.body === null) {
    await res.body?.cancel();
    throw new ModelLoadError(`downloading ${redact(url)} failed with HTTP ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body.cancel();
    throw new ModelLoadError(`model at ${redact(url)} is ${declared} bytes, over the limit of ${maxBytes}`);
  }
  // Count while streaming: Content-Length can be absent or lie.
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) {
      await res.body.cancel().catch(() => {});
      throw new ModelLoadError(`model at ${redact(url)} exceeds the limit of ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks));
}
