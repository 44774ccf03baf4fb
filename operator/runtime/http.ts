// Reading an HTTP answer the operator did not write (a Prometheus, a serving pod running any
// image) with a ceiling on its size and its duration: one leader serves every namespace, so a
// body that streams gigabytes, or a byte a second, must cost a bounded error, not the process.

/** Thrown by readCapped when a body is larger than allowed; the rest is never read. */
export class BodyTooLargeError extends Error {
  /** The cap, in bytes. */
  readonly maxBytes: number;

  constructor(maxBytes: number, declared?: number) {
    super(
      declared === undefined
        ? `the answer is larger than ${formatBytes(maxBytes)}; stopped reading there`
        : `the answer is ${formatBytes(declared)} (Content-Length), more than the ${formatBytes(maxBytes)} allowed; not read`,
    );
    this.name = 'BodyTooLargeError';
    this.maxBytes = maxBytes;
  }
}

/**
 * The body as UTF-8 text, at most maxBytes of it: a larger Content-Length is refused before
 * reading, a body that grows past the cap is cancelled there. Rejects with signal's reason
 * once it aborts, mid-body too (a timeout signal thus bounds the whole answer, not its headers).
 */
export async function readCapped(res: Response, maxBytes: number, signal?: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(res);
    throw new BodyTooLargeError(maxBytes, declared);
  }
  if (res.body === null) return '';
  signal?.throwIfAborted();
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  let onAbort = (): void => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal?.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), aborted]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
      chunks.push(value);
    }
  } catch (err) {
    // Closes the connection: the server stops sending, nothing more is buffered.
    reader.cancel().catch(() => undefined);
    throw err;
  } finally {
    // The reconcile's signal outlives this read: no listener may pile up on it.
    signal?.removeEventListener('abort', onAbort);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Drops an answer's body unread, freeing its connection (a body never read holds it open). */
export async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** 4194304 → "4 MiB"; 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number(v.toFixed(1))} ${units[i]}`;
}
