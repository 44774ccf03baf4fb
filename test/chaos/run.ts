// npm run chaos — the full form of the chaos suite: every scenario at its full size, one after
// another (two cores: never two clusters at once), the figures written into RELIABILITY.md
// between its chaos:begin and chaos:end markers. Exits 1 when an invariant was violated.
// CHAOS_SEED=<seed> repeats a run's faults (each scenario prints its seed).
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { FULL_SIZES, reportTable, runControlPlane, runFreeze, runKill, runProm } from './scenarios.ts';

const FILE = fileURLToPath(new URL('../../RELIABILITY.md', import.meta.url));
const BEGIN = '<!-- chaos:begin -->';
const END = '<!-- chaos:end -->';

const startedAt = new Date();
const kill = await runKill(FULL_SIZES.kill);
const freeze = await runFreeze(FULL_SIZES.freeze);
const prom = await runProm(FULL_SIZES.prom);
const cp = await runControlPlane(FULL_SIZES.controlPlane);
const block = `${BEGIN}\n\`npm run chaos\`, ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${Math.round((Date.now() - startedAt.getTime()) / 60_000)} min:\n\n${reportTable(kill, freeze, prom, cp)}${END}`;
const text = readFileSync(FILE, 'utf8');
const from = text.indexOf(BEGIN);
const to = text.indexOf(END);
if (from < 0 || to < from) throw new Error(`${FILE} has no ${BEGIN} … ${END} block to write the figures into`);
writeFileSync(FILE, `${text.slice(0, from)}${block}${text.slice(to + END.length)}`);
process.stdout.write(`${block}\n`);
process.exit(kill.violations.length + freeze.violations.length + prom.violations.length + cp.violations.length === 0 ? 0 : 1);
