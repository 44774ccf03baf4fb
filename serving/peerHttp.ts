// The one way this server calls another serving process (the shadow mirror, a label forwarded
// to the replica that made the prediction): a POST on a new connection, with a deadline for
// the whole exchange and a cap on the answer, which is buffered to be decoded.
//
// A new connection, because the address is often a Service's virtual IP: kube-proxy picks a
// backend per connection, so a pooled keep-alive connection would stay pinned to whatever pod
// served it first (after the Service moves to a new canary, mirrored requests would still
// reach the old one). A peer trickling bytes must not hold a slot for ever, hence the deadline.
import { request as httpRequest } from 'node:http';

/** What one POST got back. */
export interface PeerAnswer {
  status: number;
  body: Buffer;
  /** The inference-header-content-length header of a binary answer. */
  headerLength?: string;
}

/** Bounds of one call. */
export interface PeerLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

/** POSTs body to url; rejects on a network error, past the deadline or past the size cap. */
export function postToPeer(url: string, headers: Record<string, string>, body: Uint8Array | string, limits: PeerLimits): Promise<PeerAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', agent: false, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (declared > limits.maxResponseBytes) return req.destroy(new Error(`answer of ${declared} bytes exceeds ${limits.maxResponseBytes}`));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > limits.maxResponseBytes) req.destroy(new Error(`answer exceeds ${limits.maxResponseBytes} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        const len = res.headers['inference-header-content-length'];
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), ...(typeof len === 'string' ? { headerLength: len } : {}) });
      });
    });
    const deadline = setTimeout(() => req.destroy(new Error(`no answer within ${limits.timeoutMs} ms`)), limits.timeoutMs);
    req.on('close', () => clearTimeout(deadline));
    req.on('error', reject);
    req.end(body);
  });
}
