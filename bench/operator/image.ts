// Image benchmark (npm run bench:image): the image built from the working tree against the
// image built from the Dockerfile and tree of an earlier commit ("before"), on the same base
// image, measured side by side in one run. Per image: its size; the serving runtime on a small
// ONNX model (start-up to /v2/health/ready, idle RSS); the operator against a real local API
// server under its RBAC (start-up to /readyz and to holding the Lease, idle RSS). Both run as
// the image's user on a read-only root filesystem with host networking, as in the tests.
//
// It sits beside the operator benchmark because it measures the operator's image with the same
// cluster library; the serving figures it prints go into bench/serving/BENCHMARKS.md too.
//
// Environment: BENCH_BEFORE_REF (default: the commit before scripts/build-dist.ts was added,
// i.e. the image that ran the TypeScript sources), BENCH_RUNS (start-ups per image and process,
// default 3), BENCH_IDLE_SECONDS (RSS sampling window once idle, default 10).
import { execFileSync } from 'node:child_process';
import { chownSync, copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoordinationV1Api } from '@kubernetes/client-node';
import { CRD_FILE } from '../../tooling/crd.ts';
import { LEADER_ELECTION_RULES, OPERATOR_RULES } from '../../operator/api/rbac.ts';
import {
  buildRepoImage,
  ensureBaseImage,
  ensureDockerEngine,
  freePort,
  httpGet,
  makeTempDir,
  runCli,
  runCliOk,
  serviceAccountWithRules,
  startCluster,
  waitFor,
  type DockerEngine,
  type LocalCluster,
} from '../../test/cluster/index.ts';
import { writeFixture } from '../../test/fixtures/onnxModels.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const IDLE_S = Number(process.env.BENCH_IDLE_SECONDS ?? 10);
const root = fileURLToPath(new URL('../../', import.meta.url));
const git = (...args: string[]): string => execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();

/** The commit whose image ran the sources: the parent of the one that added the build step. */
function defaultBeforeRef(): string {
  const added = git('log', '--diff-filter=A', '--format=%H', '--', 'scripts/build-dist.ts').split('\n').filter(Boolean).at(-1);
  return added ? `${added}^` : 'HEAD';
}

/** One image under test. */
interface Image {
  label: string;
  tag: string;
  commit: string;
}

/** What one start of a process measured. */
interface Start {
  readyMs: number;
  leaseMs?: number;
  rssMiB: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function docker(args: string[], timeoutMs = 120_000): Promise<string> {
  return (await runCliOk('docker', args, { timeoutMs })).trim();
}

/** Builds the Dockerfile of a git ref in a temporary worktree, removed afterwards. */
async function buildAtRef(tag: string, baseImage: string, ref: string): Promise<string> {
  const tmp = makeTempDir('bench-image-before');
  const tree = join(tmp.path, 'tree');
  git('worktree', 'add', '--detach', tree, ref);
  try {
    const r = await runCli('docker', ['build', '--network', 'host', '--build-arg', `BASE_IMAGE=${baseImage}`, '-t', tag, tree], {
      timeoutMs: 20 * 60_000,
      env: { DOCKER_BUILDKIT: '0' },
    });
    if (r.code !== 0) throw new Error(`docker build of ${ref} failed:\n${(r.stdout + r.stderr).split('\n').slice(-30).join('\n')}`);
  } finally {
    git('worktree', 'remove', '--force', tree);
    tmp.remove();
  }
  return tag;
}

/** The container's RSS, from its pid 1 (node) as the host sees it, as a median over the idle window. */
async function idleRss(id: string): Promise<number> {
  const pid = Number(await docker(['inspect', '-f', '{{.State.Pid}}', id]));
  const samples: number[] = [];
  for (let i = 0; i < IDLE_S; i++) {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (m) samples.push(Number(m[1]) / 1024);
    await new Promise((r) => setTimeout(r, 1000));
  }
  return median(samples);
}

/** The image's operator command, and its serving command: the same path with serving/ for operator/. */
async function commands(tag: string): Promise<{ operator: string[]; serving: string[] }> {
  const cmd = JSON.parse(await docker(['image', 'inspect', '-f', '{{json .Config.Cmd}}', tag])) as string[];
  return { operator: cmd, serving: cmd.map((a) => a.replace(/(^|\/)operator\//, '$1serving/')) };
}

const runFlags = ['--network', 'host', '--read-only', '--tmpfs', '/tmp'];

async function startServing(image: Image, models: string): Promise<Start> {
  const port = await freePort();
  const id = await docker([
    'create', ...runFlags, '-v', `${models}:/models:ro`,
    '-e', 'SISKIN_MODEL_URI=file:///models/classifier.onnx', '-e', 'SISKIN_MODEL_NAME=iris',
    '-e', 'SISKIN_HOST=127.0.0.1', '-e', `SISKIN_PORT=${port}`,
    image.tag, ...(await commands(image.tag)).serving,
  ]);
  try {
    const t0 = performance.now();
    await docker(['start', id]);
    await waitFor(`${image.label} serving ready`, async () => ((await httpGet(`http://127.0.0.1:${port}/v2/health/ready`)).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
    const readyMs = performance.now() - t0;
    // One inference first: the model's first run is part of a warm idle server.
    const res = await fetch(`http://127.0.0.1:${port}/v2/models/iris/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
    });
    if (res.status !== 200) throw new Error(`${image.label} serving answered ${res.status} to an inference: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 3000));
    return { readyMs, rssMiB: await idleRss(id) };
  } finally {
    await docker(['rm', '-f', id]);
  }
}

async function startOperator(image: Image, cluster: LocalCluster, kubeconfig: string, run: number): Promise<Start> {
  const port = await freePort();
  const pod = `siskin-operator-bench-${image.label}-${run}`;
  const id = await docker([
    'create', ...runFlags, '-v', `${kubeconfig}:/var/run/siskin/kubeconfig:ro`,
    '-e', 'KUBECONFIG=/var/run/siskin/kubeconfig', '-e', `SISKIN_DEFAULT_SERVING_IMAGE=${image.tag}`,
    '-e', 'SISKIN_LEADER_ELECTION_NAMESPACE=siskin-system', '-e', `POD_NAME=${pod}`,
    '-e', 'SISKIN_HTTP_HOST=127.0.0.1', '-e', `SISKIN_HTTP_PORT=${port}`,
    image.tag, ...(await commands(image.tag)).operator,
  ]);
  const leases = cluster.kubeConfig().makeApiClient(CoordinationV1Api);
  try {
    const t0 = performance.now();
    await docker(['start', id]);
    await waitFor(`${image.label} operator ready`, async () => ((await httpGet(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined), { timeoutMs: 60_000, intervalMs: 20 });
    const readyMs = performance.now() - t0;
    // The previous run handed the Lease back on SIGTERM, so this one takes it at once.
    await waitFor(`${image.label} operator to hold the Lease`, async () => {
      const lease = await leases.readNamespacedLease({ namespace: 'siskin-system', name: 'siskin-operator' });
      return lease.spec?.holderIdentity?.startsWith(`${pod}_`) ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 20 });
    const leaseMs = performance.now() - t0;
    await new Promise((r) => setTimeout(r, 3000));
    return { readyMs, leaseMs, rssMiB: await idleRss(id) };
  } finally {
    await docker(['stop', '-t', '30', id], 60_000);
    await docker(['rm', '-f', id]);
  }
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ratio = (after: number, before: number): string => `${fmt(after / before, 2)}×`;

const beforeRef = process.env.BENCH_BEFORE_REF ?? defaultBeforeRef();
const images: Image[] = [
  { label: 'before', tag: 'siskin.local/siskin:bench-before', commit: git('rev-parse', '--short', beforeRef) },
  { label: 'after', tag: 'siskin.local/siskin:bench-after', commit: `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') ? '+changes' : ''}` },
];
const [before, after] = images as [Image, Image];

let engine: DockerEngine | undefined;
let cluster: LocalCluster | undefined;
const tmp = makeTempDir('bench-image');
try {
  engine = await ensureDockerEngine();
  const base = await ensureBaseImage();
  await buildAtRef(before.tag, base, beforeRef);
  await buildRepoImage(after.tag, base);
  const size = new Map(await Promise.all(images.map(async (i) => [i.label, Number(await docker(['image', 'inspect', '-f', '{{.Size}}', i.tag]))] as const)));

  const models = join(tmp.path, 'models');
  writeFixture(models, 'classifier.onnx');
  cluster = await startCluster({ crdFiles: [join(root, CRD_FILE)] });
  const saConfig = await serviceAccountWithRules(cluster, { namespace: 'siskin-system', name: 'siskin-operator', rules: OPERATOR_RULES, namespaceRules: LEADER_ELECTION_RULES, expirationSeconds: 7200 });

  const serving = new Map<string, Start[]>(images.map((i) => [i.label, []]));
  const operator = new Map<string, Start[]>(images.map((i) => [i.label, []]));
  for (const image of images) {
    // The kubeconfig holds a token and stays 0600: owned by the image's user, who alone reads it.
    const [uid, gid = uid] = (await docker(['image', 'inspect', '-f', '{{.Config.User}}', image.tag])).split(':').map(Number);
    const dir = join(tmp.path, `kube-${image.label}`);
    mkdirSync(dir);
    copyFileSync(saConfig, join(dir, 'config'));
    chownSync(join(dir, 'config'), uid!, gid!);
  }
  // Alternating, so a slow moment of the machine hits both images alike.
  for (let run = 0; run < RUNS; run++) {
    for (const image of images) serving.get(image.label)!.push(await startServing(image, models));
    for (const image of images) operator.get(image.label)!.push(await startOperator(image, cluster, join(tmp.path, `kube-${image.label}`, 'config'), run));
  }

  const m = (starts: Map<string, Start[]>, label: string, key: keyof Start): number => median(starts.get(label)!.map((s) => s[key] ?? NaN));
  const row = (what: string, b: number, a: number, unit: string, digits = 0): string => `| ${what} | ${fmt(b, digits)} ${unit} | ${fmt(a, digits)} ${unit} | ${ratio(a, b)} |`;
  const mb = (label: string): number => size.get(label)! / 1e6;
  const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.+)/)?.[1] ?? 'unknown CPU';
  console.log(
    [
      `### Image: before (${before.commit}) and after (${after.commit}) — ${new Date().toISOString().slice(0, 10)}`,
      '',
      `\`npm run bench:image\` (BENCH_BEFORE_REF=${beforeRef}, BENCH_RUNS=${RUNS}, BENCH_IDLE_SECONDS=${IDLE_S}); base image ${base}; ${cpu}.`,
      `Medians of ${RUNS} start-ups per image, alternating; RSS of the container's node (pid 1), median over ${IDLE_S} s once idle.`,
      '',
      '| | before | after | after/before |',
      '|---|---|---|---|',
      row('image size (`docker image inspect` Size)', mb('before'), mb('after'), 'MB'),
      row('operator: container start → /readyz 200 (caches synced)', m(operator, 'before', 'readyMs'), m(operator, 'after', 'readyMs'), 'ms'),
      row('operator: container start → Lease held', m(operator, 'before', 'leaseMs'), m(operator, 'after', 'leaseMs'), 'ms'),
      row('operator idle RSS (leader, caches synced, no ModelDeployments)', m(operator, 'before', 'rssMiB'), m(operator, 'after', 'rssMiB'), 'MiB'),
      row('serving: container start → /v2/health/ready 200 (iris classifier)', m(serving, 'before', 'readyMs'), m(serving, 'after', 'readyMs'), 'ms'),
      row('serving idle RSS (after one inference)', m(serving, 'before', 'rssMiB'), m(serving, 'after', 'rssMiB'), 'MiB'),
      '',
      `Every start: ${images.map((i) => `${i.label} operator ${operator.get(i.label)!.map((s) => `${fmt(s.readyMs)}/${fmt(s.leaseMs ?? NaN)} ms ${fmt(s.rssMiB)} MiB`).join(', ')}; ${i.label} serving ${serving.get(i.label)!.map((s) => `${fmt(s.readyMs)} ms ${fmt(s.rssMiB)} MiB`).join(', ')}`).join('; ')}.`,
    ].join('\n'),
  );
} finally {
  await cluster?.stop();
  for (const image of images) await runCli('docker', ['rmi', '-f', image.tag]).catch(() => undefined);
  await engine?.stop();
  tmp.remove();
}
