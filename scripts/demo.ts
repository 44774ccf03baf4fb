// `npm run demo`: Siskin rolling a model out, live, in one command. By default on the local
// cluster (real node) it starts and tears down; with --kubeconfig/--context on an existing
// cluster. See `npm run demo -- --help`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { tabularClassifier } from '../test/fixtures/onnxModels.ts';
import { useExistingCluster } from './demo/existing.ts';
import { startLocalCluster } from './demo/local.ts';
import { parseDemoArgs, USAGE, UsageError, type DemoArgs } from './demo/options.ts';
import { stamp } from './demo/progress.ts';
import { runScenario } from './demo/run.ts';
import { Teardown } from './demo/target.ts';

const log = (text: string): void => {
  process.stdout.write(`${stamp(new Date(), text)}\n`);
};

let args: DemoArgs;
try {
  args = parseDemoArgs(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof UsageError)) throw err;
  process.stderr.write(`demo: ${err.message}\n\nRun 'npm run demo -- --help' for the flags.\n`);
  process.exit(2);
}

if (args.kind === 'help') {
  process.stdout.write(USAGE);
  process.exit(0);
}

if (args.kind === 'export-models') {
  const dir = resolve(args.dir);
  mkdirSync(dir, { recursive: true });
  for (const [file, bytes] of [
    ['iris.onnx', tabularClassifier({ seed: 7 })],
    ['iris-slow.onnx', tabularClassifier({ seed: 7, slowLayers: 200 })],
  ] as const) {
    writeFileSync(join(dir, file), bytes);
    process.stdout.write(`${join(dir, file)}  sha256 ${createHash('sha256').update(bytes).digest('hex')}\n`);
  }
  process.stdout.write('Host them where the cluster can download them; pass --model-url/--model-sha256 (iris.onnx) and --slow-model-url/--slow-model-sha256 (iris-slow.onnx).\n');
  process.exit(0);
}

const run = args;
const teardown = new Teardown();
let interrupted = false;

// Ctrl-C: stop the demo's own parts at once. The cluster library has its own SIGINT handler
// (registered once the cluster starts, after this one) that stops the cluster and then ends
// the process with the signal; before that, nothing else would end it, so this one does.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    const clusterLibraryEnds = process.listenerCount(signal) > 1;
    log(`${signal}: tearing everything down`);
    const done = teardown.interrupt();
    if (!clusterLibraryEnds) {
      void Promise.race([done, new Promise((r) => setTimeout(r, 120_000).unref())]).finally(() => {
        log('torn down');
        // The shell's convention for "ended by this signal".
        process.exit(128 + constants.signals[signal]);
      });
    }
  });
}

/** Never resolves, and keeps the event loop alive meanwhile (a bare pending promise would not). */
const holdForever = (): Promise<never> => {
  setInterval(() => undefined, 1 << 30);
  return new Promise<never>(() => undefined);
};

const endTeardown = async (): Promise<boolean> => {
  log('==> tearing down');
  const failures = await teardown.run();
  for (const f of failures) log(`teardown: ${f}`);
  log(failures.length === 0 ? 'torn down: nothing the demo started is left running' : 'teardown had failures (above)');
  return failures.length === 0;
};

try {
  const cluster = run.target.kind === 'local' ? await startLocalCluster(teardown, log) : await useExistingCluster(run.target, teardown, log);
  const result = await runScenario(cluster, { namespace: run.namespace, fast: run.fast, keep: run.keep }, teardown, log);
  for (const line of result.summary) log(line);
  log(result.ok ? 'demo complete: the good version was promoted and the slow one rolled back' : 'demo FAILED: a rollout did not end as expected (summary above)');
  if (run.keep && cluster.holdsCluster) {
    log('--keep: the cluster keeps running. From another shell:');
    for (const hint of cluster.keepHints(run.namespace)) log(`  ${hint}`);
    log('Press Ctrl-C to tear everything down.');
    await holdForever();
  }
  if (run.keep) {
    log('--keep: Siskin and the model stay installed:');
    for (const hint of cluster.keepHints(run.namespace)) log(`  ${hint}`);
  }
  const clean = await endTeardown();
  process.exit(result.ok && clean ? 0 : 1);
} catch (err) {
  // Interrupted: the failure is the teardown's doing; the signal handlers end the process.
  if (interrupted) await holdForever();
  log(`error: ${(err as Error).message}`);
  await endTeardown();
  process.exit(1);
}
