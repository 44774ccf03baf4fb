import { describe, expect, test } from '@jest/globals';
import { summariseHeap } from './heap.ts';

describe('heap snapshot summary', () => {
  test('self sizes summed by constructor for objects, by type for the rest, largest first', () => {
    const snap = {
      snapshot: { meta: { node_fields: ['type', 'name', 'id', 'self_size', 'edge_count'], node_types: [['hidden', 'array', 'string', 'object', 'code', 'closure'] as string[]] as [string[]] } },
      // type, name (index into strings), id, self_size, edge_count
      nodes: [3, 0, 1, 100, 0, 3, 0, 3, 60, 0, 3, 1, 5, 40, 0, 2, 2, 7, 500, 0, 2, 3, 9, 20, 0, 1, 2, 11, 8, 0],
      strings: ['V1Pod', 'Map', 'some text', 'other text'],
    };
    const s = summariseHeap(snap);
    expect(s.totalBytes).toBe(728);
    expect(s.rows).toEqual([
      { kind: 'string', count: 2, bytes: 520 },
      { kind: 'object V1Pod', count: 2, bytes: 160 },
      { kind: 'object Map', count: 1, bytes: 40 },
      { kind: 'array', count: 1, bytes: 8 },
    ]);
  });
});
