// The first run on a fresh machine. `npm ci && npm run demo` imports the cluster library
// before scripts/setup-host.sh has installed Debian's packages, so nothing may decide where a
// tool is at import time; and whatever the image scripts unpack into the temp directory (a
// ~140 MB debootstrap tree) is gone after an error, Ctrl-C or SIGTERM.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostToolSpecs } from '../../cluster/hostTools.ts';
import { cacheRoot, pidAlive, waitFor } from '../../cluster/index.ts';
import { unmountUnder } from '../../cluster/process.ts';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const program = fileURLToPath(new URL('./freshMachine.ts', import.meta.url));
const makeBaseImage = join(repo, 'scripts', 'make-base-image.sh');
const hostCommands = hostToolSpecs().filter((s) => !s.tool.startsWith('/'));

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'siskin-fresh-test-'));
});
afterAll(() => {
  unmountUnder(root);
  rmSync(root, { recursive: true, force: true });
});

/** This machine's PATH without any host tool: a directory of links to everything else on it. */
function pathWithoutHostTools(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const drop = new Set(hostCommands.map((s) => s.tool));
  for (const from of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    let names: string[];
    try {
      names = readdirSync(from);
    } catch {
      continue;
    }
    for (const name of names) {
      if (drop.has(name)) continue;
      try {
        if (!statSync(join(from, name)).isFile()) continue;
        symlinkSync(join(from, name), join(dir, name));
      } catch {
        // an earlier PATH entry won, or a dangling link
      }
    }
  }
  return dir;
}

interface Lookup {
  path?: string;
  error?: string;
  message?: string;
}

describe('the demo on a fresh machine', () => {
  let report: {
    before: Record<string, Lookup>;
    unknown: Record<string, Lookup>;
    after: Record<string, Lookup>;
    base: string;
    binariesBefore: Record<string, Lookup>;
    binariesAfter: Record<string, Lookup>;
    cache: string;
  };
  let calls: string[];
  let bin: string;

  beforeAll(async () => {
    const dir = join(root, 'demo');
    bin = join(dir, 'bin');
    mkdirSync(bin, { recursive: true });
    const system = pathWithoutHostTools(join(dir, 'system'));
    const log = join(dir, 'calls.log');
    writeFileSync(log, '');
    const out = await new Promise<string>((resolve, reject) => {
      const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}${delimiter}${system}`, SISKIN_CACHE: join(dir, 'cache') };
      delete env.KUBEBUILDER_ASSETS;
      execFile(process.execPath, [program, bin, log, cacheRoot()], { env, timeout: 120_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${program} failed: ${err.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    report = JSON.parse(out) as typeof report;
    calls = readFileSync(log, 'utf8').trim().split('\n');
  }, 180_000);

  test.each(hostCommands.map((s) => [s.tool, s.debianPackage]))('before setup, %s is missing and the error names the package %s', (tool, pkg) => {
    expect(report.before[tool]).toEqual({ error: 'MissingToolError', message: expect.stringContaining(`apt-get install ${pkg}`) });
  });

  test.each(hostCommands.map((s) => [s.tool]))('after setup, %s is found where setup put it', (tool) => {
    expect(report.after[tool]).toEqual({ path: join(bin, tool) });
  });

  test('the cluster binaries, absent before setup, are found in the cache setup filled', () => {
    for (const [name, found] of Object.entries(report.binariesBefore)) {
      expect([name, found]).toEqual([name, { error: 'Error', message: expect.stringContaining('build-binaries.sh') }]);
    }
    for (const [name, found] of Object.entries(report.binariesAfter)) {
      expect([name, found.path]).toEqual([name, expect.stringMatching(new RegExp(`^${report.cache}/bin/[^/]+/${name}$`))]);
    }
  });

  test('setup runs before Docker is first looked for, and every Docker call goes to the Docker setup installed', () => {
    const docker = calls.filter((c) => c.startsWith('docker '));
    expect(calls[0]).toBe('setup-host');
    expect(docker.map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['docker version', 'docker image', 'docker build', 'docker save']);
    expect(docker[2]).toContain(`--build-arg BASE_IMAGE=${report.base}`);
    expect(report.base).toMatch(/^siskin\.local\/node-base:24\./);
  });

  test('an unknown tool name is a typed error naming it, never a TypeError', () => {
    expect(report.unknown.hostTool).toEqual({ error: 'UnknownToolError', message: expect.stringContaining("unknown tool 'no-such-tool'") });
    expect(report.unknown.findBinary).toEqual({ error: 'UnknownToolError', message: expect.stringContaining("unknown tool 'docker'") });
  });
});

describe('make-base-image.sh leaves no temporary tree behind', () => {
  /** Stand-ins: docker without the base image, and a debootstrap that unpacks, mounts, then fails or hangs. */
  function stage(name: string, mode: 'fail' | 'hang'): { env: NodeJS.ProcessEnv; temp: string; mark: string } {
    const dir = join(root, name);
    const bin = join(dir, 'bin');
    const temp = join(dir, 'tmp');
    const mark = join(dir, 'mark');
    for (const d of [bin, temp, mark]) mkdirSync(d, { recursive: true });
    writeFileSync(join(bin, 'docker'), '#!/bin/sh\n[ "$1" = image ] && exit 1\nexit 0\n');
    writeFileSync(
      join(bin, 'debootstrap'),
      `#!/bin/sh
target="$4"
mkdir -p "$target/proc" "$target/var"
head -c 4194304 /dev/zero > "$target/var/blob"
[ "$(id -u)" = 0 ] && mount -t tmpfs siskin-test "$target/proc"
echo $$ > '${mark}/debootstrap.pid'
[ ${mode} = fail ] && { echo 'E: stand-in failure' >&2; exit 1; }
exec sleep 300
`,
    );
    for (const f of ['docker', 'debootstrap']) chmodSync(join(bin, f), 0o755);
    const env = { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}`, TMPDIR: temp, SISKIN_CACHE: join(dir, 'cache') };
    return { env, temp, mark };
  }

  const leftovers = (temp: string): string[] => readdirSync(temp);
  const mountsUnder = (dir: string): string[] =>
    readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4] ?? '').filter((p) => p.startsWith(`${dir}/`));
  const debootstrapPid = async (mark: string): Promise<number> =>
    waitFor('the debootstrap stand-in to start', () => {
      try {
        return Promise.resolve(Number(readFileSync(join(mark, 'debootstrap.pid'), 'utf8')) || undefined);
      } catch {
        return Promise.resolve(undefined);
      }
    }, { timeoutMs: 30_000, intervalMs: 100 });

  test('debootstrap fails: the script fails with its log, and the tree is gone', async () => {
    const { env, temp, mark } = stage('fail', 'fail');
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(makeBaseImage, [], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('E: stand-in failure');
    await debootstrapPid(mark);
    expect(leftovers(temp)).toEqual([]);
    expect(mountsUnder(temp)).toEqual([]);
  }, 60_000);

  test.each(['SIGINT', 'SIGTERM', 'SIGHUP'] as const)('the script gets %s mid-debootstrap: debootstrap is stopped, its mounts and the tree are gone', async (signal) => {
    const { env, temp, mark } = stage(`signal-${signal}`, 'hang');
    const child = spawn(makeBaseImage, [], { env, stdio: 'ignore' });
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    const pid = await debootstrapPid(mark);
    child.kill(signal);
    expect(await closed).not.toBe(0);
    expect(pidAlive(pid)).toBe(false);
    expect(leftovers(temp)).toEqual([]);
    expect(mountsUnder(temp)).toEqual([]);
  }, 60_000);

  test('the demo process gets SIGINT while it makes the base image: the script is stopped and cleans up before the demo exits', async () => {
    const { env, temp, mark } = stage('demo-sigint', 'hang');
    const lib = join(repo, 'test', 'cluster', 'index.ts');
    const child = spawn(process.execPath, ['--input-type=module', '-e', `const { ensureBaseImage } = await import(${JSON.stringify(lib)}); await ensureBaseImage();`], { env, stdio: 'ignore' });
    const closed = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    const pid = await debootstrapPid(mark);
    child.kill('SIGINT');
    expect(await closed).toBe('SIGINT');
    expect(pidAlive(pid)).toBe(false);
    expect(leftovers(temp)).toEqual([]);
    expect(mountsUnder(temp)).toEqual([]);
  }, 60_000);
});
