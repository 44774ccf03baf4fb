// What the API server said when it refused a request, in its own words.

/** The API server's message from a client-node error (its body is a Status as JSON text); the error's own text otherwise. */
export function apiErrorMessage(err: unknown): string {
  const body = (err as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const message = (JSON.parse(body) as { message?: unknown }).message;
      if (typeof message === 'string') return message;
    } catch {
      // Not a Status: the error's own text says more than a raw body would.
    }
  }
  return err instanceof Error ? err.message : String(err);
}
