// npm run chaos — the full form of the chaos suite: every scenario at its full size, one after
// another (two cores: never two clusters at once), each scenario's row written into
// RELIABILITY.md between its chaos:begin and chaos:end markers. `npm run chaos -- serving memory`
// runs only those scenarios and replaces only their rows. Exits 1 when an invariant was violated.
// CHAOS_SEED=<seed> repeats a run's faults (each scenario prints its seed).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FULL_SIZES, rowLine, SCENARIOS, TABLE_HEAD, type ScenarioName } from './scenarios.ts';

const FILE = fileURLToPath(new URL('../../RELIABILITY.md', import.meta.url));
const BEGIN = '<!-- chaos:begin -->';
const END = '<!-- chaos:end -->';
const ALL = Object.keys(SCENARIOS) as ScenarioName[];

const asked = process.argv.slice(2);
const unknown = asked.filter((a) => !ALL.includes(a as ScenarioName));
if (unknown.length > 0) {
  process.stderr.write(`unknown scenario ${unknown.join(', ')}; the scenarios: ${ALL.join(', ')}\n`);
  process.exit(2);
}
const chosen = asked.length > 0 ? (asked as ScenarioName[]) : ALL;

const text = readFileSync(FILE, 'utf8');
const from = text.indexOf(BEGIN);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`${FILE} has no ${BEGIN} … ${END} block to write the figures into`);
const old = text.slice(from + BEGIN.length, to).split('\n');
// The rows and violations of scenarios not run now are kept as they were.
const lines = new Map<ScenarioName, { row: string; violations: string[] }>();
for (const name of ALL) {
  const { title } = SCENARIOS[name];
  const row = old.find((l) => l.startsWith(`| ${title} |`));
  if (row !== undefined) lines.set(name, { row, violations: old.filter((l) => l.startsWith(`- ${title}: `)) });
}
let violated = 0;
for (const name of chosen) {
  const ran = new Date();
  const row = await SCENARIOS[name].run(FULL_SIZES);
  violated += row.violations.length;
  lines.set(name, { row: rowLine(row, ran), violations: row.violations.map((v) => `- ${row.title}: ${v}`) });
  process.stdout.write(`${rowLine(row, ran)}\n${row.violations.join('\n')}\n`);
}
const rows = ALL.flatMap((n) => (lines.has(n) ? [lines.get(n)!.row] : []));
const violations = ALL.flatMap((n) => lines.get(n)?.violations ?? []);
const block = `${BEGIN}\nEach row is one scenario of \`npm run chaos\` at its full size; \`npm run chaos -- <scenario>\` reruns one (${ALL.join(', ')}).\n\n${[...TABLE_HEAD, ...rows].join('\n')}\n\n${violations.length === 0 ? 'No invariant was violated.' : `Violations:\n${violations.join('\n')}`}\n${END}`;
const current = readFileSync(FILE, 'utf8');
writeFileSync(FILE, `${current.slice(0, current.indexOf(BEGIN))}${block}${current.slice(current.indexOf(END) + END.length)}`);
process.exit(violated === 0 ? 0 : 1);
