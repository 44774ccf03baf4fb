// A fresh machine, as the demo meets it: run with a PATH that lacks every host tool of
// test/cluster/host-tools.tsv. It imports the demo's start-up code and the whole cluster
// library first (as `npm run demo` does), then runs the demo's start-up path with a setup
// step that "installs" recording stand-ins for those tools, then the steps that use Docker.
// Prints one JSON report on stdout for freshMachine.test.ts.
//
//   SISKIN_CACHE=EMPTY_DIR node freshMachine.ts BIN_DIR CALL_LOG BUILT_CACHE
//
// The cluster binaries are "built" by the setup stand-in too: it links BUILT_CACHE's
// components into the empty cache.
import { appendFileSync, chmodSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareHost } from '../../../scripts/demo/local.ts';
import { buildRepoImage, cacheRoot, ensureBaseImage, findBinary, saveImage, type BinaryName } from '../../cluster/index.ts';
import { hostTool, hostToolSpecs } from '../../cluster/hostTools.ts';

const [binDir, callLog, builtCache] = process.argv.slice(2) as [string, string, string];
const commands = hostToolSpecs().filter((s) => !s.tool.startsWith('/'));
const binaries: BinaryName[] = ['etcd', 'kube-apiserver', 'kubectl', 'kubelet', 'helm', 'prometheus'];

/** What looking a name up gives now: its path, or the error's class, tool and package. */
function lookUp(lookup: () => string): { path?: string; error?: string; message?: string } {
  try {
    return { path: lookup() };
  } catch (err) {
    return { error: (err as Error).name, message: (err as Error).message };
  }
}

// A stand-in that records each call; as docker it answers like an engine that is up.
const standIn = (tool: string): string => `#!/bin/sh
echo "${tool} $*" >> '${callLog}'
case "${tool} $1" in
  "docker version") echo 28.0.0 ;;
  "docker save") printf 'image-archive' ;;
esac
exit 0
`;

const before = Object.fromEntries(commands.map((s) => [s.tool, lookUp(() => hostTool(s.tool))]));
const binariesBefore = Object.fromEntries(binaries.map((b) => [b, lookUp(() => findBinary(b))]));
const unknown = {
  hostTool: lookUp(() => hostTool('no-such-tool')),
  findBinary: lookUp(() => findBinary('docker' as Parameters<typeof findBinary>[0])),
};

await prepareHost(
  () => undefined,
  () => {
    appendFileSync(callLog, 'setup-host\n');
    for (const s of commands) {
      const path = join(binDir, s.tool);
      writeFileSync(path, standIn(s.tool));
      chmodSync(path, 0o755);
    }
    mkdirSync(join(cacheRoot(), 'bin'), { recursive: true });
    for (const component of readdirSync(join(builtCache, 'bin'))) {
      symlinkSync(join(builtCache, 'bin', component), join(cacheRoot(), 'bin', component));
    }
  },
);
const base = await ensureBaseImage();
await buildRepoImage('siskin.local/siskin:fresh', base);
saveImage('siskin.local/siskin:fresh', join(binDir, '..', 'image.tar'));
const after = Object.fromEntries(commands.map((s) => [s.tool, lookUp(() => hostTool(s.tool))]));
const binariesAfter = Object.fromEntries(binaries.map((b) => [b, lookUp(() => findBinary(b))]));

process.stdout.write(JSON.stringify({ before, unknown, after, base, binariesBefore, binariesAfter, cache: cacheRoot() }));
