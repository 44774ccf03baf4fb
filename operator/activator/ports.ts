// Which activator port a model gets: the port is how the activator knows the model a request
// is for (its Service's EndpointSlice names the activator's address and this port). Pure.
import { createHash } from 'node:crypto';

/** An inclusive range of ports the activator may listen on. */
export interface PortRange {
  first: number;
  last: number;
}

/**
 * The model's port: the one status already records, if it is still free for it; else the
 * first free port probing from a hash of the key, so an allocation does not depend on the
 * order models were seen in. taken maps a port to the model holding it. An error when the
 * range is full.
 */
export function allocatePort(key: string, recorded: number | undefined, taken: ReadonlyMap<number, string>, range: PortRange): { port: number } | { error: string } {
  const inRange = (p: number): boolean => p >= range.first && p <= range.last;
  const free = (p: number): boolean => (taken.get(p) ?? key) === key;
  if (recorded !== undefined && inRange(recorded) && free(recorded)) return { port: recorded };
  const size = range.last - range.first + 1;
  const start = createHash('sha256').update(key).digest().readUInt32BE(0) % size;
  for (let i = 0; i < size; i++) {
    const p = range.first + ((start + i) % size);
    if (free(p)) return { port: p };
  }
  return { error: `all ${size} activator ports (${range.first}-${range.last}) are taken; raise the range (SISKIN_ACTIVATOR_PORTS)` };
}

/** Parses "first-last" (or one port). */
export function parsePortRange(text: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text.trim());
  const first = m ? Number(m[1]) : NaN;
  const last = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(first >= 1 && last <= 65535 && first <= last)) throw new RangeError(`"${text}" is not a port range like 9400-9499`);
  return { first, last };
}
