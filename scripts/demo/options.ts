// The demo's command line: pure, so every accepted and rejected form is a table test. Two
// targets: the local cluster this command starts (the default), or an existing cluster named
// by --kubeconfig, --context or KUBECONFIG, which needs an image, a Prometheus and a model URL
// from the user because nothing local can reach into it.
import { parseArgs } from 'node:util';

/** What the demo runs against. */
export type DemoTarget =
  | { kind: 'local' }
  | {
      kind: 'existing';
      kubeconfig?: string;
      context?: string;
      /** The operator image: repository plus a tag or a digest. */
      image: { repository: string; tag?: string; digest?: string };
      prometheusUrl: string;
      model: { url: string; sha256: string };
      /** The slow model for the rollback half; absent: that half is skipped. */
      slowModel?: { url: string; sha256: string };
    };

/** A parsed command line. */
export type DemoArgs =
  | { kind: 'help' }
  | { kind: 'export-models'; dir: string }
  | {
      kind: 'run';
      target: DemoTarget;
      /** The namespace of the operator and the demo's ModelDeployment. */
      namespace: string;
      /** Leave everything running at the end (the local cluster until Ctrl-C). */
      keep: boolean;
      /** Shorter pauses, for CI. */
      fast: boolean;
    };

/** A command line that cannot be run; the demo prints it with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The text of `npm run demo -- --help`. */
export const USAGE = `npm run demo [-- flags]: Siskin rolling a model out, live.

Installs Siskin with its Helm chart, serves a model, sends it traffic, rolls out a good
version (promoted step by step) and a slow one (rolled back by the latency analysis), and
prints every step, weight, phase and analysis measurement as it happens, then a summary.

On the local cluster (default): needs root (it runs a real kubelet, containerd and
kube-proxy), Docker and debootstrap from Debian, and the cluster's binaries (built on the
first run by scripts/setup-host.sh: about 25 minutes on 2 cores). Everything it starts is
torn down at the end or on Ctrl-C.

On an existing cluster (--kubeconfig, --context, or KUBECONFIG set), e.g. kind:
  --image REPO:TAG         required: the Siskin image, built from this repository's
                           Dockerfile and already pullable by the cluster (push it, or
                           e.g. 'kind load docker-image REPO:TAG'); REPO@sha256:... also works
  --prometheus-url URL     required: a Prometheus that scrapes pods by their
                           prometheus.io/* annotations, reachable from the operator's pod
  --model-url URL          required: an ONNX model the serving pods can download
  --model-sha256 HEX       required: its sha256 (version 1, and the good version 2)
  --slow-model-url URL     optional, with --slow-model-sha256: a slow model for the
  --slow-model-sha256 HEX  rollback half (skipped without it)
  The chart is installed namespace-scoped (watchNamespace) into --namespace; at the end
  the release and the namespace are deleted (the CRD stays, as Helm never deletes CRDs).
  'npm run demo -- --export-models DIR' writes the demo's two models with their sha256,
  for you to host.

Flags:
  --namespace NS       namespace of the operator and the model (default: siskin-demo)
  --keep               leave everything running at the end; on the local cluster, print how
                       to reach it and wait for Ctrl-C
  --fast               shorter pauses between steps (for CI)
  --local              use the local cluster even though KUBECONFIG is set
  --kubeconfig PATH    target an existing cluster through this kubeconfig
  --context NAME       ... or this context of it
  --export-models DIR  write the demo's models (ONNX) to DIR and exit
  -h, --help           this text
`;

const SHA256 = /^[a-f0-9]{64}$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Splits an image reference into repository and tag or digest, as the chart's values want them. */
export function parseImage(ref: string): { repository: string; tag?: string; digest?: string } {
  const at = ref.indexOf('@');
  if (at >= 0) {
    const digest = ref.slice(at + 1);
    if (!/^sha256:[a-f0-9]{64}$/.test(digest)) throw new UsageError(`--image ${ref}: a digest must be sha256:<64 hex>`);
    return { repository: ref.slice(0, at), digest };
  }
  // A colon after the last slash is a tag; before it, a registry port.
  const colon = ref.lastIndexOf(':');
  if (colon > ref.lastIndexOf('/')) {
    const tag = ref.slice(colon + 1);
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new UsageError(`--image ${ref}: "${tag}" is not a valid tag`);
    return { repository: ref.slice(0, colon), tag };
  }
  throw new UsageError(`--image ${ref}: give a tag or a digest (REPO:TAG or REPO@sha256:...), so the cluster runs exactly the image you loaded`);
}

/** Parses the demo's arguments; env supplies KUBECONFIG. Throws UsageError naming what is wrong. */
export function parseDemoArgs(argv: readonly string[], env: { KUBECONFIG?: string } = {}): DemoArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        help: { type: 'boolean', short: 'h' },
        keep: { type: 'boolean' },
        fast: { type: 'boolean' },
        local: { type: 'boolean' },
        namespace: { type: 'string' },
        kubeconfig: { type: 'string' },
        context: { type: 'string' },
        image: { type: 'string' },
        'prometheus-url': { type: 'string' },
        'model-url': { type: 'string' },
        'model-sha256': { type: 'string' },
        'slow-model-url': { type: 'string' },
        'slow-model-sha256': { type: 'string' },
        'export-models': { type: 'string' },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const v = parsed.values;
  if (v.help) return { kind: 'help' };
  if (v['export-models'] !== undefined) return { kind: 'export-models', dir: v['export-models'] };
  const namespace = v.namespace ?? 'siskin-demo';
  if (!DNS_LABEL.test(namespace)) throw new UsageError(`--namespace ${namespace}: must be a DNS label (lowercase letters, digits, "-")`);
  const common = { namespace, keep: v.keep === true, fast: v.fast === true };
  const existingFlags = ['image', 'prometheus-url', 'model-url', 'model-sha256', 'slow-model-url', 'slow-model-sha256'] as const;
  const existing = v.kubeconfig !== undefined || v.context !== undefined || (!v.local && !!env.KUBECONFIG);
  if (v.local && (v.kubeconfig !== undefined || v.context !== undefined)) throw new UsageError('--local and --kubeconfig/--context exclude each other');
  if (!existing) {
    const stray = existingFlags.filter((f) => v[f] !== undefined);
    if (stray.length > 0) {
      throw new UsageError(`${stray.map((f) => `--${f}`).join(', ')}: only for an existing cluster (--kubeconfig or --context); the local demo builds its image and serves its own models`);
    }
    return { kind: 'run', target: { kind: 'local' }, ...common };
  }
  const why = v.kubeconfig !== undefined || v.context !== undefined ? 'with --kubeconfig/--context' : 'with KUBECONFIG set (pass --local for the local cluster)';
  const missing = (['image', 'prometheus-url', 'model-url', 'model-sha256'] as const).filter((f) => v[f] === undefined);
  if (missing.length > 0) {
    const hints: Record<(typeof missing)[number], string> = {
      image: '--image REPO:TAG: the image built from the Dockerfile, loaded into or pullable by the cluster (e.g. kind load docker-image REPO:TAG)',
      'prometheus-url': '--prometheus-url URL: a Prometheus the operator pod can reach, scraping pods by their prometheus.io/* annotations',
      'model-url': '--model-url URL: an ONNX model the serving pods can download (npm run demo -- --export-models DIR writes one)',
      'model-sha256': '--model-sha256 HEX: the sha256 of that model',
    };
    throw new UsageError(`on an existing cluster (${why}) the demo needs:\n${missing.map((f) => `  ${hints[f]}`).join('\n')}`);
  }
  const prometheusUrl = v['prometheus-url']!;
  if (!/^https?:\/\/\S+$/.test(prometheusUrl)) throw new UsageError(`--prometheus-url ${prometheusUrl}: must be an http:// or https:// URL`);
  const model = (urlFlag: 'model-url' | 'slow-model-url', shaFlag: 'model-sha256' | 'slow-model-sha256'): { url: string; sha256: string } => {
    const url = v[urlFlag]!;
    const sha256 = v[shaFlag]!.toLowerCase();
    if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--${urlFlag} ${url}: must be an http:// or https:// URL (the model is downloaded and its sha256 checked)`);
    if (!SHA256.test(sha256)) throw new UsageError(`--${shaFlag}: must be 64 hex digits`);
    return { url, sha256 };
  };
  const hasSlowUrl = v['slow-model-url'] !== undefined;
  if (hasSlowUrl !== (v['slow-model-sha256'] !== undefined)) throw new UsageError('--slow-model-url and --slow-model-sha256 go together');
  const target: DemoTarget = {
    kind: 'existing',
    ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
    ...(v.context !== undefined ? { context: v.context } : {}),
    image: parseImage(v.image!),
    prometheusUrl,
    model: model('model-url', 'model-sha256'),
    ...(hasSlowUrl ? { slowModel: model('slow-model-url', 'slow-model-sha256') } : {}),
  };
  return { kind: 'run', target, ...common };
}
