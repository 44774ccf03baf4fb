import { describe, test, expect } from '@jest/globals';
import { FeedbackIds, authority } from './feedbackIds.ts';

const KEY = Buffer.alloc(32, 7);

describe('feedback ids', () => {
  const a = new FeedbackIds({ address: '198.51.100.4:8080', key: KEY });
  const b = new FeedbackIds({ address: '198.51.100.5:8080', key: KEY });

  test('ids are unique, and the replica that minted one finds it local', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => a.mint()));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(a.ownerOf(id)).toEqual({ kind: 'local' });
  });

  test('a sibling with the same key reads the owner address from the id', () => {
    expect(b.ownerOf(a.mint())).toEqual({ kind: 'peer', address: '198.51.100.4:8080' });
    expect(a.ownerOf(b.mint())).toEqual({ kind: 'peer', address: '198.51.100.5:8080' });
  });

  test('an id signed with another key, a forged address or a bare string is foreign', () => {
    const other = new FeedbackIds({ address: '198.51.100.9:8080', key: Buffer.alloc(32, 8) });
    expect(b.ownerOf(other.mint())).toEqual({ kind: 'foreign' });
    const id = a.mint();
    const [origin, counter] = [id.slice(0, id.lastIndexOf('.')), id.slice(id.lastIndexOf('.') + 1)];
    const [payload, mac] = origin.split('~') as [string, string];
    const decoded = Buffer.from(payload, 'base64url').toString();
    const forged = Buffer.from(decoded.replace('198.51.100.4:8080', '127.0.0.1:22')).toString('base64url');
    expect(b.ownerOf(`${forged}~${mac}.${counter}`)).toEqual({ kind: 'foreign' });
    expect(b.ownerOf(`${forged}.${counter}`)).toEqual({ kind: 'foreign' });
    for (const s of ['req-1', '', '.', '~', '~.', 'a~b.c', `${payload}~.0`]) expect(b.ownerOf(s)).toEqual({ kind: 'foreign' });
  });

  test('an id of an earlier process at the same address is foreign (its predictions went with it)', () => {
    const before = new FeedbackIds({ address: '198.51.100.4:8080', key: KEY });
    expect(a.ownerOf(before.mint())).toEqual({ kind: 'foreign' });
  });

  test('without a key or an address nothing is forwarded', () => {
    const keyless = new FeedbackIds({ address: '198.51.100.6:8080' });
    const bare = new FeedbackIds();
    expect(keyless.ownerOf(keyless.mint())).toEqual({ kind: 'local' });
    expect(bare.ownerOf(bare.mint())).toEqual({ kind: 'local' });
    expect(keyless.ownerOf(a.mint())).toEqual({ kind: 'foreign' });
    expect(a.ownerOf(keyless.mint())).toEqual({ kind: 'foreign' });
  });

  test('IPv6 hosts are bracketed', () => {
    expect(authority('fd00::1', 8080)).toBe('[fd00::1]:8080');
    expect(authority('198.51.100.4', 8080)).toBe('198.51.100.4:8080');
    const v6 = new FeedbackIds({ address: authority('::1', 9), key: KEY });
    expect(a.ownerOf(v6.mint())).toEqual({ kind: 'peer', address: '[::1]:9' });
  });
});
