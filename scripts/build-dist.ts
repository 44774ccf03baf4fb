// Emits the image's JavaScript (`npm run build`): each runtime entry point of
// operator/resources/image.ts bundled by esbuild into one ESM file under dist/, at its source
// path with .js, every dependency inlined except the native addon, which stays in node_modules.
// Bundles rather than a tsc emit: one file per process parses faster and is smaller than the
// thousands of modules of client-node, fastify and zod it replaces (bench/operator/BENCHMARKS.md).
//
// A module loaded at run time by URL, `new URL('./worker.ts', import.meta.url)` (serving's
// worker threads), becomes a bundle of its own and the URL is rewritten to point at it; any
// other file read relative to a module fails the build, because dist/ would not hold it.
//
// With --node-modules DIR it also writes the image's node_modules: the external packages the
// bundles import and their dependencies (from package-lock.json), each native addon with only
// this machine's platform and architecture (the image build runs on the image's platform).
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build, type BuildOptions, type Metafile, type Plugin } from 'esbuild';
import { ENTRY_POINTS, bundlePathOf } from '../operator/resources/image.ts';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Left in node_modules: native addons, which load their binaries by computed paths. */
export const EXTERNAL_PACKAGES = ['onnxruntime-node'];

// CommonJS dependencies require() Node's builtins, and an ES module has no require of its own.
const BANNER = "import { createRequire as __siskinCreateRequire } from 'node:module';\nconst require = __siskinCreateRequire(import.meta.url);";

const COMMON: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: EXTERNAL_PACKAGES,
  banner: { js: BANNER },
  // Whitespace and syntax only: identifiers keep their names, so stack traces and class
  // names in logs read as in the sources.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'eof',
  tsconfig: join(root, 'tsconfig.json'),
  metafile: true,
  logLevel: 'warning',
};

// `new URL('<relative>', import.meta.url)`: a file found next to a module at run time.
const RUNTIME_URL = /new URL\(\s*(['"])(\.{1,2}\/[^'"]+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Rewrites run-time module URLs of the repository's sources to the bundles built for them. */
function runtimeUrls(outfile: string, found: Set<string>): Plugin {
  return {
    name: 'runtime-urls',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const text = readFileSync(args.path, 'utf8');
        const errors: { text: string }[] = [];
        const contents = text.replace(RUNTIME_URL, (whole, quote: string, spec: string) => {
          const source = relative(root, resolve(dirname(args.path), spec));
          if (!source.endsWith('.ts') || source.startsWith('..')) {
            errors.push({ text: `${relative(root, args.path)} reads ${spec} beside itself at run time; dist/ holds only bundles, so the image would not have it` });
            return whole;
          }
          found.add(source);
          const url = relative(dirname(outfile), join(root, bundlePathOf(source)));
          return `new URL(${quote}${url.startsWith('.') ? url : `./${url}`}${quote}, import.meta.url)`;
        });
        return errors.length > 0 ? { errors } : { contents, loader: 'ts' };
      });
    },
  };
}

/** One bundle written: its source, output file (relative to the root), size and the packages it left external. */
export interface Bundle {
  source: string;
  bundle: string;
  bytes: number;
  externals: string[];
}

function externalPackages(meta: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(meta.outputs)) {
    for (const imp of output.imports) {
      if (!imp.external || isBuiltin(imp.path)) continue;
      const parts = imp.path.split('/');
      names.add(imp.path.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!);
    }
  }
  return [...names].sort();
}

/** Bundles every entry point, and every module they load by URL, into dist/ (emptied first). */
export async function buildDist(): Promise<Bundle[]> {
  const dist = join(root, 'dist');
  rmSync(dist, { recursive: true, force: true });
  const queue: string[] = Object.values(ENTRY_POINTS).map((e) => e.source);
  const bundles: Bundle[] = [];
  for (let source = queue.shift(); source !== undefined; source = queue.shift()) {
    if (bundles.some((b) => b.source === source)) continue;
    const bundle = bundlePathOf(source);
    const outfile = join(root, bundle);
    const found = new Set<string>();
    const result = await build({ ...COMMON, entryPoints: [join(root, source)], outfile, plugins: [runtimeUrls(outfile, found)] });
    const bytes = Object.values(result.metafile!.outputs).reduce((n, o) => n + o.bytes, 0);
    bundles.push({ source, bundle, bytes, externals: externalPackages(result.metafile!) });
    queue.push(...found);
  }
  // The bundles are ES modules with a .js name: the nearest package.json says so.
  writeFileSync(join(dist, 'package.json'), `${JSON.stringify({ type: 'module', private: true }, null, 2)}\n`);
  return bundles;
}

interface LockedPackage {
  dev?: boolean;
  optional?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/**
 * The package-lock paths (node_modules/a, node_modules/a/node_modules/b) of the given
 * packages and everything they depend on, found as Node finds them: the nearest node_modules up.
 */
export function dependencyClosure(lock: { packages: Record<string, LockedPackage> }, roots: string[], optionalRoots: string[] = []): string[] {
  const found = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const path = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
      if (lock.packages[path]) return path;
      if (dir === '') return undefined;
    }
  };
  const keep = new Set<string>();
  const visit = (from: string, name: string, optional: boolean): void => {
    const path = found(from, name);
    if (path === undefined) {
      // An optional dependency of another platform is not installed: nothing to copy.
      if (optional) return;
      throw new Error(`package-lock.json has no ${name} reachable from ${from || 'the root'}`);
    }
    if (keep.has(path)) return;
    keep.add(path);
    const pkg = lock.packages[path]!;
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(path, dep, false);
    for (const dep of Object.keys(pkg.optionalDependencies ?? {})) visit(path, dep, true);
  };
  for (const name of roots) visit('', name, false);
  for (const name of optionalRoots) visit('', name, true);
  return [...keep].sort();
}

/** Inside a native addon: bin/napi-vN/<platform>/<arch>/ of another platform or architecture. */
function foreignBinary(pathInPackage: string): boolean {
  const [bin, napi, platform, arch] = pathInPackage.split(sep);
  if (bin !== 'bin' || !/^napi-v\d+$/.test(napi ?? '') || platform === undefined) return false;
  return platform !== process.platform || (arch !== undefined && arch !== process.arch);
}

/** Copies the packages the bundles left external, with their dependencies, into dir (emptied first). */
export function writeNodeModules(dir: string, externals: string[]): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockedPackage> };
  // Besides the declared externals, esbuild leaves external a require() it cannot resolve inside
  // a try (ws's optional bufferutil): copied if installed, else the dependency copes without it.
  const paths = dependencyClosure(
    lock,
    externals.filter((name) => EXTERNAL_PACKAGES.includes(name)),
    externals.filter((name) => !EXTERNAL_PACKAGES.includes(name)),
  );
  rmSync(dir, { recursive: true, force: true });
  for (const path of paths) {
    const from = join(root, path);
    const to = join(dir, relative('node_modules', path));
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, {
      recursive: true,
      // A nested node_modules/ is copied as a package of its own, if it is needed at all.
      filter: (src) => {
        const inside = relative(from, src);
        return inside.split(sep)[0] !== 'node_modules' && !foreignBinary(inside);
      },
    });
  }
  return paths;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { 'node-modules': { type: 'string' } } });
  const bundles = await buildDist();
  for (const b of bundles) console.log(`${b.bundle}  ${(b.bytes / 1024 / 1024).toFixed(1)} MiB  (from ${b.source}; external: ${b.externals.join(', ') || 'none'})`);
  const target = values['node-modules'];
  if (target !== undefined) {
    const externals = [...new Set(bundles.flatMap((b) => b.externals))];
    const paths = writeNodeModules(resolve(target), externals);
    console.log(`${target}: ${paths.length} packages (${paths.map((p) => relative('node_modules', p)).join(', ')})`);
  }
}
