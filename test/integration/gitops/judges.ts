// The two judges GitOps tools put on a ModelDeployment, run for real: Argo CD's health check
// (charts/siskin/health/modeldeployment.lua) on a real Lua, and kstatus, the readiness library
// of Flux and cli-utils, through the checker built from test/cluster/kstatus.
import { fileURLToPath } from 'node:url';
import { runCli } from '../../cluster/index.ts';

const HEALTH_LUA = fileURLToPath(new URL('../../../charts/siskin/health/modeldeployment.lua', import.meta.url));

/**
 * The Lua interpreters the check runs on: 5.1 is the dialect of Argo CD's gopher-lua, 5.4
 * catches what newer Lua rejects. Both come from Debian (test/cluster/host-tools.tsv).
 */
export const LUAS = ['lua5.1', 'lua5.4'] as const;
/** One of LUAS. */
export type Lua = (typeof LUAS)[number];

/** Argo CD's health verdict: what the script set on hs. */
export interface ArgoHealth {
  status: string;
  message: string;
}

/** A Lua string literal: quotes, backslashes and control bytes escaped; UTF-8 passes through as bytes. */
export function luaString(s: string): string {
  const escape = (c: string): string => {
    if (c === '\\' || c === '"') return `\\${c}`;
    const code = c.charCodeAt(0);
    // Lua's \ddd is one byte: only ASCII controls; C1 controls stay UTF-8 like any other text.
    return code < 0x80 ? `\\${String(code).padStart(3, '0')}` : c;
  };
  return `"${s.replace(/[\\"\p{Cc}]/gu, escape)}"`;
}

/** A JSON-shaped value as a Lua table constructor: the same table Argo CD builds from the object's JSON. */
export function luaValue(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'string') return luaString(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`${v} has no JSON form`);
    return String(v);
  }
  if (Array.isArray(v)) return `{${v.map(luaValue).join(', ')}}`;
  if (typeof v === 'object') {
    const fields = Object.entries(v).filter(([, x]) => x !== undefined && x !== null);
    return `{${fields.map(([k, x]) => `[${luaString(k)}] = ${luaValue(x)}`).join(', ')}}`;
  }
  throw new Error(`cannot write a ${typeof v} as Lua`);
}

/**
 * Runs the health check on an object as Argo CD does (the object is the global `obj`, the
 * script returns hs) in the given interpreter. A missing interpreter fails with the Debian
 * package that provides it.
 */
export async function argoHealth(obj: unknown, lua: Lua): Promise<ArgoHealth> {
  const harness = [
    `obj = ${luaValue(obj)}`,
    `local check = assert(loadfile(${luaString(HEALTH_LUA)}))`,
    'local hs = check()',
    'assert(type(hs) == "table", "the health check must return the hs table")',
    'io.write(tostring(hs.status), "\\0", tostring(hs.message))',
  ].join('\n');
  const r = await runCli(lua, ['-'], { input: harness, timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`${lua} exited ${r.code}: ${r.stderr}`);
  const [status, message] = r.stdout.split('\0');
  return { status: status!, message: message! };
}

/** kstatus's verdict on an object. */
export interface KstatusResult {
  status: 'InProgress' | 'Failed' | 'Current' | 'Terminating' | 'NotFound' | 'Unknown';
  message: string;
}

/**
 * kstatus's status.Compute on an object (JSON), through the checker built from the Go module
 * proxy (bash test/cluster/build-binaries.sh kstatus); a missing checker says how to build it.
 */
export async function kstatus(obj: unknown): Promise<KstatusResult> {
  const r = await runCli('kstatus', [], { input: JSON.stringify(obj), timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`kstatus exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as KstatusResult;
}
