// A reconcile's AbortSignal on every API-server request. client-node's generated clients take
// per-call ConfigurationOptions whose middleware sees each RequestContext before it is sent;
// setting the signal there makes undici abort the request, and a request started after the
// abort rejects at once without reaching the server.
import { Observable, type ConfigurationOptions, type ObservableMiddleware } from '@kubernetes/client-node';

/** Per-call options for client-node's typed APIs: the request aborts with signal; extends opts if given. */
export function withSignal(signal: AbortSignal, opts?: ConfigurationOptions<ObservableMiddleware>): ConfigurationOptions<ObservableMiddleware> {
  const middleware: ObservableMiddleware = {
    pre: (request) => {
      request.setSignal(signal);
      return new Observable(Promise.resolve(request));
    },
    post: (response) => new Observable(Promise.resolve(response)),
  };
  // 'append' keeps the client's own middleware (its User-Agent header); the default 'replace' would drop it.
  return { ...opts, middleware: [...(opts?.middleware ?? []), middleware], middlewareMergeStrategy: 'append' };
}

