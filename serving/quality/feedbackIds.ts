// Feedback ids are minted here, never chosen by the client: two clients cannot overwrite each
// other's predictions, and the id says which replica holds the prediction. Behind a Service
// the label usually reaches another replica than the one that answered; that replica reads
// the owner's address from the id and forwards the label to it.
//
// An id is `<origin>.<counter>`. The origin is fixed for the life of the process: the pod's
// address and a random boot nonce, base64url-encoded, and (when the replicas share a peer
// key) an HMAC of both. Only an origin whose HMAC verifies is forwarded to, so a client
// cannot make a replica post to an address of its choosing; without a key, ids are only
// ever looked up where they arrive.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Where the prediction behind an id is held. */
export type IdOwner =
  /** This process: look it up in the local store. */
  | { kind: 'local' }
  /** A sibling replica, at host:port (IPv6 in brackets). */
  | { kind: 'peer'; address: string }
  /** Not an id this model's replicas minted (or one whose signature does not verify). */
  | { kind: 'foreign' };

/** Bytes of the HMAC kept in an origin: 128 bits, as many as a forger must guess. */
const MAC_BYTES = 16;

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** Mints this process's ids and tells who owns any id. */
export class FeedbackIds {
  private readonly origin: string;
  private readonly address: string | undefined;
  private readonly key: Buffer | undefined;
  private counter = 0;

  /**
   * @param address this replica's host:port as its siblings reach it; undefined when unknown
   *   (then nothing minted here can be forwarded back)
   * @param key the peer key every replica shares; undefined turns forwarding off
   */
  constructor(opts: { address?: string; key?: Buffer; nonce?: Buffer } = {}) {
    this.address = opts.address;
    this.key = opts.key;
    const payload = `${opts.address ?? ''}/${(opts.nonce ?? randomBytes(6)).toString('hex')}`;
    this.origin = this.key === undefined || opts.address === undefined ? b64(payload) : `${b64(payload)}~${this.mac(payload)}`;
  }

  /** A fresh id: unique in this process, and across restarts by the nonce. */
  mint(): string {
    return `${this.origin}.${(this.counter++).toString(36)}`;
  }

  /** Who holds the prediction behind an id. Cheap for the common case (an id minted here). */
  ownerOf(id: string): IdOwner {
    const dot = id.lastIndexOf('.');
    const origin = dot < 0 ? id : id.slice(0, dot);
    if (origin === this.origin) return { kind: 'local' };
    const tilde = origin.indexOf('~');
    if (this.key === undefined || tilde < 0) return { kind: 'foreign' };
    const payload = Buffer.from(origin.slice(0, tilde), 'base64url').toString('utf8');
    const given = Buffer.from(origin.slice(tilde + 1), 'base64url');
    const expected = Buffer.from(this.mac(payload), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { kind: 'foreign' };
    const address = payload.slice(0, payload.lastIndexOf('/'));
    // An earlier process of this same pod: its predictions went with it.
    if (address === '' || address === this.address) return { kind: 'foreign' };
    return { kind: 'peer', address };
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key!).update(payload).digest().subarray(0, MAC_BYTES).toString('base64url');
  }
}

/** host:port as a URL authority: an IPv6 host goes in brackets. */
export function authority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
