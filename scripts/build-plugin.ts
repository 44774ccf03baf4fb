// Builds the kubectl-siskin plugin as users install it (npm run build:plugin): one
// self-contained executable that needs no Node and no node_modules, a Krew archive of it, and
// the Krew manifest with that archive's sha256.
//
//   operator/cli/main.ts ─esbuild→ one CommonJS script ─node --experimental-sea-config→ a blob
//   ─postject→ a copy of this Node binary: dist/plugin/kubectl-siskin
//   → dist/plugin/kubectl-siskin-linux-amd64.tar.gz (+ .sha256) and dist/plugin/siskin.yaml
//
// The executable is a Node single executable application (SEA): the Node running this script
// (the pinned Node 24, as in every npm script) with the bundle injected. Node 24's SEA runs one
// CommonJS script and its require() reaches built-ins only, so everything the CLI imports is
// bundled into that script.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { parse } from 'yaml';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist', 'plugin');
/** Intermediate files: the bundle, the SEA config and blob. */
const WORK = join(OUT, 'build');
const BINARY = join(OUT, 'kubectl-siskin');
const ARCHIVE = join(OUT, 'kubectl-siskin-linux-amd64.tar.gz');
const MANIFEST_TEMPLATE = join(ROOT, 'plugins', 'siskin.yaml');
const MANIFEST = join(OUT, 'siskin.yaml');
/** The fuse Node's binary carries so a runtime check finds an injected blob (Node's SEA docs). */
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** What the build made, for the summary (and the test's figures). */
interface Built {
  bundleBytes: number;
  binaryBytes: number;
  archiveBytes: number;
  sha256: string;
  version: string;
}

function fail(message: string): never {
  console.error(`build-plugin: ${message}`);
  process.exit(1);
}

/** Runs a command to completion, failing the build with its output when it fails. */
function run(command: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(command, args, { cwd: opts.cwd ?? ROOT, encoding: 'utf8' });
  if (r.error) fail(`${command}: ${r.error.message}`);
  if (r.status !== 0) fail(`${command} ${args.join(' ')} exited ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

/** The base binary is the running Node: it must be 24+, for linux/amd64, with the SEA fuse. */
function checkBaseNode(): void {
  const major = Number(process.versions.node.split('.')[0]);
  if (major < 24) fail(`needs Node.js >= 24 (this is ${process.version}): run it with 'npm run build:plugin', which uses the pinned node_modules/.bin/node`);
  if (process.platform !== 'linux' || process.arch !== 'x64') fail(`builds the linux/amd64 plugin from the running Node, which is ${process.platform}/${process.arch}`);
  if (!readFileSync(process.execPath).includes(`${SEA_FUSE}:0`)) fail(`${process.execPath} has no unused SEA fuse: it is not an official Node binary, or already carries a blob`);
}

/** Bundles the CLI and everything it imports (client-node, zod, ...) into one CommonJS script. */
async function bundle(): Promise<string> {
  const outfile = join(WORK, 'kubectl-siskin.cjs');
  const result = await build({
    entryPoints: [join(ROOT, 'operator', 'cli', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // Unminified: a bug's stack trace (main prints it) stays readable; the Node binary is
    // 30 times the bundle's size anyway.
    minify: false,
    logLevel: 'silent',
  });
  // A warning here is a require() or import.meta the bundle could not resolve: it would fail
  // at run time inside the executable, where no node_modules exist.
  if (result.warnings.length > 0) fail(`esbuild warned:\n${result.warnings.map((w) => `${w.location?.file ?? ''}:${w.location?.line ?? ''} ${w.text}`).join('\n')}`);
  return outfile;
}

/** Makes the SEA blob from the bundle with the running Node, which is also the base binary. */
function seaBlob(script: string): string {
  const blob = join(WORK, 'kubectl-siskin.blob');
  const config = join(WORK, 'sea-config.json');
  writeFileSync(
    config,
    `${JSON.stringify(
      {
        main: script,
        output: blob,
        disableExperimentalSEAWarning: true,
        // V8's compiled code in the blob: startup ~0.1 s instead of ~0.15-0.2 s. Ties the blob
        // to this exact Node binary, which is the one it is injected into.
        useCodeCache: true,
        // A plugin must not change behaviour with the user's NODE_OPTIONS (a --require of a
        // file that is not there would crash it).
        execArgvExtension: 'none',
      },
      null,
      2,
    )}\n`,
  );
  run(process.execPath, ['--experimental-sea-config', config]);
  return blob;
}

/** Copies the running Node binary and injects the blob (postject, as Node's SEA docs do). */
function inject(blob: string): void {
  rmSync(BINARY, { force: true });
  copyFileSync(process.execPath, BINARY);
  chmodSync(BINARY, 0o755);
  const postject = createRequire(import.meta.url).resolve('postject/dist/cli.js');
  // Its ELF library warns about note sections it cannot name: shown only if injection fails.
  run(process.execPath, [postject, BINARY, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', SEA_FUSE]);
}

/** The executable must start with no Node, no node_modules and no NODE_OPTIONS around it. */
function smokeTest(): void {
  const empty = mkdtempSync(join(tmpdir(), 'kubectl-siskin-smoke-'));
  try {
    const r = spawnSync(BINARY, ['--help'], { cwd: empty, env: { PATH: empty, HOME: empty }, encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0 || !r.stdout.includes('Usage:\n  kubectl siskin COMMAND NAME')) {
      fail(`${BINARY} --help, run from an empty directory with PATH=${empty}, exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
    }
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
}

/** The Krew archive: the executable, and the LICENSE when the repository has one. */
function archive(): void {
  rmSync(ARCHIVE, { force: true });
  const license = existsSync(join(ROOT, 'LICENSE')) ? ['-C', ROOT, 'LICENSE'] : [];
  // Owner root and numeric ids: the archive does not carry the builder's account.
  run('tar', ['--owner=0', '--group=0', '--numeric-owner', '-czf', ARCHIVE, '-C', OUT, 'kubectl-siskin', ...license]);
}

/** Renders plugins/siskin.yaml (the template) with the version and the archive's sha256. */
function manifest(version: string, sha256: string): void {
  const template = readFileSync(MANIFEST_TEMPLATE, 'utf8');
  const values: Record<string, string> = { VERSION: version, SHA256_LINUX_AMD64: sha256 };
  for (const key of Object.keys(values)) if (!template.includes(`{{${key}}}`)) fail(`${MANIFEST_TEMPLATE} has no {{${key}}}`);
  // The template's leading comment (what it is, how it is rendered) gives way to the generated-file header.
  const body = template.replace(/^(#.*\n)+/, '').replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? fail(`${MANIFEST_TEMPLATE}: unknown placeholder ${whole}`));
  const text = `# Generated by npm run build:plugin from plugins/siskin.yaml — do not edit.\n${body}`;
  const plugin = parse(text) as { spec?: { version?: string; platforms?: { sha256?: string }[] } };
  if (plugin.spec?.version !== version || plugin.spec.platforms?.[0]?.sha256 !== sha256) fail(`${MANIFEST} does not carry version ${version} and the archive's sha256`);
  writeFileSync(MANIFEST, text);
}

async function main(): Promise<Built> {
  checkBaseNode();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const version = `v${pkg.version}`;
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });

  const script = await bundle();
  const blob = seaBlob(script);
  inject(blob);
  smokeTest();
  archive();
  const sha256 = createHash('sha256').update(readFileSync(ARCHIVE)).digest('hex');
  writeFileSync(`${ARCHIVE}.sha256`, `${sha256}  kubectl-siskin-linux-amd64.tar.gz\n`);
  manifest(version, sha256);
  return { bundleBytes: statSync(script).size, binaryBytes: statSync(BINARY).size, archiveBytes: statSync(ARCHIVE).size, sha256, version };
}

const started = Date.now();
const built = await main();
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;
console.log(
  [
    `kubectl-siskin ${built.version} on Node ${process.version} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
    `  bundle    ${mb(built.bundleBytes)}  dist/plugin/build/kubectl-siskin.cjs`,
    `  binary    ${mb(built.binaryBytes)}  dist/plugin/kubectl-siskin`,
    `  archive   ${mb(built.archiveBytes)}  dist/plugin/kubectl-siskin-linux-amd64.tar.gz`,
    `  sha256    ${built.sha256}`,
    `  manifest  dist/plugin/siskin.yaml`,
  ].join('\n'),
);
