// A reconcile's AbortSignal on every API-server request. client-node's generated clients take
// per-call ConfigurationOptions whose middleware sees each RequestContext before it is sent;
// setting the signal there makes undici abort the request, and a request started after the
// abort rejects at once without reaching the server.
import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

const fences = new WeakMap<AbortSignal, () => string | undefined>();

/**
 * Fences the requests made under signal: each is checked at the moment it is sent, and refused
 * when check names a reason. An abort is an event that a resumed process may see only after
 * its queued I/O callbacks ran; a check at send time cannot be outrun (a leader frozen past its
 * lease and then resumed issues no write).
 */
export function fence(signal: AbortSignal, check: () => string | undefined): void {
  fences.set(signal, check);
}

/** Why requests under signal are refused now (its abort, or its fence), if they are. */
export function refusal(signal: AbortSignal): Error | undefined {
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason));
  const why = fences.get(signal)?.();
  return why === undefined ? undefined : new FencedError(why);
}

/** A request refused by its signal's fence. */
export class FencedError extends Error {
  constructor(why: string) {
    super(`request not sent: ${why}`);
    this.name = 'FencedError';
  }
}

/** Per-call options for client-node's typed APIs: the request aborts with signal (and honours its fence); extends opts if given. */
export function withSignal(signal: AbortSignal, opts?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (request) => {
      const refused = refusal(signal);
      if (refused !== undefined) return new Observable(Promise.reject(refused));
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  // 'append' keeps the client's own middleware (its User-Agent header); the default 'replace' would drop it.
  return { ...opts, middleware: [...(opts?.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
}

