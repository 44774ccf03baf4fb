// Optional bearer-token auth for inference routes. Tokens come from a file (one per line)
// so a Kubernetes Secret can be mounted; the file is re-read when it changes, so a
// rotated Secret takes effect without a restart.
import type { FastifyInstance } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { unauthorized } from './errors.ts';

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** Parses a token file: one token per line, blank lines and # comments ignored. */
export function parseTokens(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

/** The accepted tokens, reloaded from their file when its mtime changes. */
export class TokenFile {
  private readonly path: string;
  private digests: Buffer[] = [];
  private own: string | undefined;
  private mtimeMs = -1;
  private checkedAt = 0;

  /** Reads the file; throws when it is missing or holds no token (a misconfiguration). */
  constructor(path: string) {
    this.path = path;
    this.reload();
    if (this.digests.length === 0) throw new Error(`auth token file ${path} holds no token`);
  }

  private reload(): void {
    const st = statSync(this.path);
    if (st.mtimeMs === this.mtimeMs) return;
    const tokens = parseTokens(readFileSync(this.path, 'utf8'));
    // An emptied file during a Secret update keeps the previous tokens rather than locking everyone out.
    if (tokens.length > 0 || this.mtimeMs < 0) {
      this.digests = tokens.map(digest);
      this.own = tokens[0];
    }
    this.mtimeMs = st.mtimeMs;
  }

  /**
   * The token this server sends when it calls a peer (the shadow mirror): the file's first.
   * Every revision of a model mounts the same Secret, so the peer accepts it.
   */
  outgoing(): string | undefined {
    this.refresh();
    return this.own;
  }

  /** Re-reads the file at most every 2 s. */
  private refresh(): void {
    const now = Date.now();
    if (now - this.checkedAt <= 2000) return;
    this.checkedAt = now;
    try {
      this.reload();
    } catch {
      // Keep the last good tokens while the file is briefly absent (symlink swap).
    }
  }

  /** Throws 401 unless the Authorization header carries an accepted bearer token. */
  verify(header: string | undefined): void {
    this.refresh();
    const m = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
    if (m === null) throw unauthorized();
    const given = digest(m[1]!);
    // Compare digests in constant time so the token cannot be guessed byte by byte.
    if (!this.digests.some((d) => timingSafeEqual(d, given))) throw unauthorized();
  }
}

/**
 * Refuses requests to the routes of this (encapsulated) plugin without a valid bearer
 * token, in onRequest so a refused body is never read. No tokens: no check.
 */
export function requireBearerToken(app: FastifyInstance, tokens: TokenFile | undefined): void {
  if (tokens === undefined) return;
  app.addHook('onRequest', (req, _reply, done) => {
    try {
      tokens.verify(req.headers.authorization);
      done();
    } catch (err) {
      done(err as Error);
    }
  });
}
