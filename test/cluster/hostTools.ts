// Host tools from Debian's packages (host-tools.tsv: the one list, shared with
// scripts/setup-host.sh), found when they are used and never earlier: on a fresh machine
// the demo imports this library before setup-host has installed them.
import { readFileSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A tool name that neither the cluster library's binaries nor host-tools.tsv know. */
export class UnknownToolError extends Error {
  readonly tool: string;
  constructor(tool: string, known: readonly string[]) {
    super(`unknown tool '${tool}': the cluster library knows ${known.join(', ')}`);
    this.name = 'UnknownToolError';
    this.tool = tool;
  }
}

/** A host tool that is not installed, naming the Debian package that provides it. */
export class MissingToolError extends Error {
  readonly tool: string;
  readonly debianPackage: string;
  constructor(tool: string, debianPackage: string, why: string, searched: string) {
    super(
      `${tool} is not installed (${searched}); it is needed for ${why}. ` +
        `Install it: apt-get install ${debianPackage}  (bash scripts/setup-host.sh installs every host tool)`,
    );
    this.name = 'MissingToolError';
    this.tool = tool;
    this.debianPackage = debianPackage;
  }
}

/** One row of host-tools.tsv. */
export interface HostToolSpec {
  /** A command looked up on PATH, or an absolute path. */
  tool: string;
  debianPackage: string;
  why: string;
}

/** Parses host-tools.tsv: tab-separated rows, # comments and blank lines ignored. */
export function parseHostTools(text: string): HostToolSpec[] {
  const rows: HostToolSpec[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    const [tool, debianPackage, why] = raw.split('\t');
    if (!tool || !debianPackage || !why) throw new Error(`host-tools.tsv line ${i + 1}: expected tool<TAB>package<TAB>why, got '${raw}'`);
    rows.push({ tool, debianPackage, why });
  }
  return rows;
}

/** Every host tool, read from host-tools.tsv next to this file. */
export function hostToolSpecs(): HostToolSpec[] {
  return parseHostTools(readFileSync(new URL('./host-tools.tsv', import.meta.url), 'utf8'));
}

/** True when path is an executable regular file. */
export function isExecutable(path: string): boolean {
  try {
    const st = statSync(path);
    return st.isFile() && (st.mode & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The first executable named `name` on env.PATH, or undefined: a lookup made now, not cached. */
export function onPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/** True when `name` is a host tool listed in host-tools.tsv. */
export function isHostTool(name: string): boolean {
  return hostToolSpecs().some((s) => s.tool === name);
}

/**
 * The path of a host tool, looked up at this moment on env.PATH (or at its absolute path):
 * a MissingToolError naming its Debian package when absent, an UnknownToolError when the
 * name is not in host-tools.tsv.
 */
export function hostTool(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const specs = hostToolSpecs();
  const spec = specs.find((s) => s.tool === name);
  if (!spec) throw new UnknownToolError(name, specs.map((s) => s.tool));
  if (name.startsWith('/')) {
    if (isExecutable(name)) return name;
    throw new MissingToolError(name, spec.debianPackage, spec.why, 'no such executable');
  }
  const found = onPath(name, env);
  if (found) return found;
  throw new MissingToolError(name, spec.debianPackage, spec.why, `not on PATH=${env.PATH ?? ''}`);
}

/** The Debian packages that provide those of `names` that are missing now (empty when all are there). */
export function missingHostPackages(names: readonly string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const missing = new Set<string>();
  for (const name of names) {
    try {
      hostTool(name, env);
    } catch (err) {
      if (!(err instanceof MissingToolError)) throw err;
      missing.add(err.debianPackage);
    }
  }
  return [...missing].sort();
}
