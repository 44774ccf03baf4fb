// Summarises a V8 heap snapshot (`node --heapsnapshot-signal=SIGUSR2`, or writeHeapSnapshot) as
// the bytes held by each kind of object: self sizes summed by constructor or string kind —
// enough to see what a process keeps (cached objects, label maps, strings) without DevTools.
//
//   node bench/heap.ts FILE.heapsnapshot [--top 25]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapSummary {
  totalBytes: number;
  rows: { kind: string; count: number; bytes: number }[];
}

/** Self sizes by `type:name` (objects by constructor; strings, arrays, code and closures by type). */
export function summariseHeap(snap: HeapSnapshot, top = 25): HeapSummary {
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const TYPE = fields.indexOf('type');
  const NAME = fields.indexOf('name');
  const SIZE = fields.indexOf('self_size');
  const by = new Map<string, { count: number; bytes: number }>();
  let total = 0;
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + TYPE]!]!;
    const size = snap.nodes[i + SIZE]!;
    total += size;
    // Objects and closures by name; every string one row, every array, code object and the rest by type.
    const kind = type === 'object' || type === 'closure' || type === 'native' ? `${type} ${snap.strings[snap.nodes[i + NAME]!]}` : type;
    const row = by.get(kind) ?? { count: 0, bytes: 0 };
    row.count++;
    row.bytes += size;
    by.set(kind, row);
  }
  const rows = [...by].map(([kind, r]) => ({ kind, ...r })).sort((a, b) => b.bytes - a.bytes).slice(0, top);
  return { totalBytes: total, rows };
}

export function formatHeap(s: HeapSummary): string {
  const mib = (b: number): string => (b / 1024 ** 2).toFixed(1);
  return [
    `${mib(s.totalBytes)} MiB in the snapshot`,
    '',
    '| kind (self size) | objects | MiB | share |',
    '|---|---|---|---|',
    ...s.rows.map((r) => `| ${r.kind.replaceAll('|', '\\|')} | ${r.count} | ${mib(r.bytes)} | ${((r.bytes / s.totalBytes) * 100).toFixed(1)}% |`),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (file === undefined) {
    process.stderr.write('usage: node bench/heap.ts FILE.heapsnapshot [--top N]\n');
    process.exit(2);
  }
  const i = args.indexOf('--top');
  process.stdout.write(`${formatHeap(summariseHeap(JSON.parse(readFileSync(file, 'utf8')) as HeapSnapshot, i >= 0 ? Number(args[i + 1]) : 25))}\n`);
}
