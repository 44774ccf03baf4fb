// Summarises a V8 CPU profile (`node --cpu-prof` writes one .cpuprofile per thread) as text a
// benchmark note can hold: the share of samples by where the code lives (a package, a Node
// internal module, a project file, the garbage collector, idle), the heaviest functions by self
// time, and the heaviest call paths by total time (a flame graph folded to its widest stacks).
//
//   node bench/profile.ts PROFILE.cpuprofile [--top 15] [--depth 12]
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** Where a frame's code lives: a package, a Node module, a project file, or V8's own pseudo-frames. */
export function placeOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (pkg) return pkg[1]!;
  return path.startsWith(ROOT) ? relative(ROOT, path) : path;
}

function frameName(frame: CallFrame): string {
  if (frame.url === '' && frame.functionName.startsWith('(')) return frame.functionName;
  return `${frame.functionName || '(anonymous)'} ${placeOf(frame)}${frame.url ? `:${frame.lineNumber + 1}` : ''}`;
}

export interface ProfileSummary {
  totalMs: number;
  byPlace: { place: string; ms: number; share: number }[];
  bySelf: { frame: string; ms: number; share: number }[];
  /** The widest call paths by total time: each line a frame and the share of all samples under it. */
  paths: string[];
}

/** Self and total time per node from the samples; places and functions by self time; the heaviest paths. */
export function summarise(profile: CpuProfile, top = 15, depth = 12): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000));
  const total = new Map<number, number>();
  const totalOf = (id: number): number => {
    const known = total.get(id);
    if (known !== undefined) return known;
    const t = (self.get(id) ?? 0) + (byId.get(id)?.children ?? []).reduce((s, c) => s + totalOf(c), 0);
    total.set(id, t);
    return t;
  };
  const all = [...self.values()].reduce((s, v) => s + v, 0);
  const share = (ms: number): number => (all === 0 ? 0 : ms / all);
  const sum = <K>(key: (n: ProfileNode) => K): Map<K, number> => {
    const m = new Map<K, number>();
    for (const n of profile.nodes) m.set(key(n), (m.get(key(n)) ?? 0) + (self.get(n.id) ?? 0));
    return m;
  };
  const ranked = <K>(m: Map<K, number>): [K, number][] => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  const paths: string[] = [];
  // From the root, follow every child holding at least 3% of the samples, widest first.
  const walk = (id: number, level: number): void => {
    const node = byId.get(id)!;
    const t = totalOf(id);
    if (level > 0) paths.push(`${'  '.repeat(level - 1)}${(share(t) * 100).toFixed(1)}% ${frameName(node.callFrame)}`);
    if (level >= depth) return;
    const kids = (node.children ?? []).map((c) => [c, totalOf(c)] as const).filter(([, ct]) => share(ct) >= 0.03).sort((a, b) => b[1] - a[1]);
    for (const [c] of kids) walk(c, level + 1);
  };
  walk(profile.nodes[0]!.id, 0);
  return {
    totalMs: all,
    byPlace: ranked(sum((n) => placeOf(n.callFrame))).map(([place, ms]) => ({ place, ms, share: share(ms) })),
    bySelf: ranked(sum((n) => frameName(n.callFrame))).map(([frame, ms]) => ({ frame, ms, share: share(ms) })),
    paths,
  };
}

export function formatSummary(s: ProfileSummary): string {
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
  return [
    `${(s.totalMs / 1000).toFixed(2)} s of samples`,
    '',
    '| where (self time) | share |',
    '|---|---|',
    ...s.byPlace.map((p) => `| ${p.place} | ${pct(p.share)} |`),
    '',
    '| function (self time) | share |',
    '|---|---|',
    ...s.bySelf.map((f) => `| \`${f.frame}\` | ${pct(f.share)} |`),
    '',
    'Call paths holding ≥ 3% of samples (total time, callers above callees):',
    '```',
    ...s.paths,
    '```',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const file = args.find((a) => !a.startsWith('--'));
  if (file === undefined) {
    process.stderr.write('usage: node bench/profile.ts PROFILE.cpuprofile [--top N] [--depth N]\n');
    process.exit(2);
  }
  const opt = (name: string, d: number): number => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? Number(args[i + 1]) : d;
  };
  process.stdout.write(`${formatSummary(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, opt('top', 15), opt('depth', 12)))}\n`);
}
