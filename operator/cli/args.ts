// Command-line parsing for kubectl-siskin: pure, so every accepted and rejected form is a
// table test. Flags follow kubectl's spelling (-n/--namespace, --context, --kubeconfig,
// -o) and pflag's forms (`-n x`, `-n=x`, `-nx`, `--namespace x`, `--namespace=x`).

/** The plugin's subcommands. */
export const SUBCOMMANDS = ['status', 'promote', 'abort', 'retry', 'pause', 'resume', 'history'] as const;

/** One subcommand. */
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Output formats of the read-only subcommands. */
export type OutputFormat = 'table' | 'json';

/** spec.rollout.schemaCheck's modes, which `check --schema-check` may name. */
export const SCHEMA_CHECK_MODES = ['Strict', 'AllowAdditive', 'Off'] as const;

/** The flags that choose a cluster and a namespace, as kubectl spells them. */
interface ClusterFlags {
  namespace?: string;
  context?: string;
  kubeconfig?: string;
}

/** A parsed command line. */
export type CliArgs =
  | { kind: 'help' }
  | {
      kind: 'run';
      command: Subcommand;
      name: string;
      namespace?: string;
      context?: string;
      kubeconfig?: string;
      output: OutputFormat;
      /** promote --full: skip the remaining steps (the promote-full command). */
      full: boolean;
    }
  | ({
      kind: 'check';
      /** The new model file (--model). */
      model: string;
      /** What it is checked against: a live ModelDeployment's stable revision, or a stable model file (--against). */
      against: { name: string } | { file: string };
      /** --schema-check: overrides spec.rollout.schemaCheck (with --against: Strict when absent). */
      schemaCheck?: (typeof SCHEMA_CHECK_MODES)[number];
      output: OutputFormat;
    } & ClusterFlags)
  | {
      kind: 'lint';
      /** Manifest files; "-" is stdin. */
      files: string[];
      output: OutputFormat;
    };

/** A command line that cannot be run; main prints it with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The text of `kubectl siskin --help`. */
export const USAGE = `kubectl siskin: control Siskin ModelDeployment rollouts (siskin.dev/v1alpha1, short name md).

Usage:
  kubectl siskin COMMAND NAME [flags]
  kubectl siskin check --model NEW.onnx (md/NAME | --against STABLE.onnx) [flags]
  kubectl siskin lint FILE... [flags]

Commands:
  status NAME        Show versions, canary weight and step, analysis, conditions and recent history
  promote NAME       Advance the canary past its current step (a pause or an analysis hold)
  promote NAME --full
                     Skip the remaining steps and promote the canary to stable now
  abort NAME         Roll the canary back to weight 0; stable serves on
  retry NAME         Roll the same (rolled-back) revision out again from the first step
  pause NAME         Hold the rollout at its current step (annotation siskin.dev/paused=true)
  resume NAME        Lift a pause: yours, or one the analysis took after inconclusive rounds
  history NAME       Show past rollouts: version, outcome, reason, model owner
  check --model NEW.onnx md/NAME
                     Run the operator's schema gate offline: NEW.onnx's inputs and outputs against
                     the stable revision's signature in NAME's status, under its spec.rollout.schemaCheck
  check --model NEW.onnx --against STABLE.onnx
                     The same gate between two model files, with no cluster (Strict unless --schema-check)
  lint FILE...       Validate the ModelDeployments in YAML/JSON manifests (multi-document; a directory's
                     .yaml/.yml/.json files; "-" is stdin)
                     against the CRD's schema and its validation rules, offline, as the API server would

Flags:
  -n, --namespace NS    Namespace of the ModelDeployment (default: the context's, else "default")
      --context NAME    kubeconfig context to use
      --kubeconfig PATH kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -o, --output FORMAT   table (default) or json, for status, history, check and lint
      --full            With promote: promote fully, skipping the remaining steps
      --model PATH      With check: the new ONNX model
      --against PATH    With check: the stable ONNX model, instead of a ModelDeployment's status
      --schema-check MODE
                        With check: Strict, AllowAdditive or Off instead of the ModelDeployment's own
  -h, --help            Show this help

Each command writes an annotation the operator acts on, so GitOps users have the same levers:
  siskin.dev/command=VERB:NONCE   promote, promote-full, abort, retry or resume; runs once per
                                  distinct value (the plugin writes a fresh nonce every time)
  siskin.dev/paused="true"        holds the rollout until the annotation is removed

Exit codes: 0 done (check: compatible; lint: every ModelDeployment valid), 1 the command could
not run (API server, a file that cannot be read or is not ONNX), 2 a bad command line,
3 check found a breaking change / lint found an invalid ModelDeployment.

Examples:
  kubectl siskin status iris -n ml
  kubectl siskin status iris -o json
  kubectl siskin promote iris --full
  kubectl siskin check --model iris-3.onnx md/iris -n ml
  kubectl siskin check --model iris-3.onnx --against iris-2.onnx --schema-check AllowAdditive
  kubectl siskin lint deploy/
`;

type FlagName = 'namespace' | 'context' | 'kubeconfig' | 'output' | 'full' | 'help' | 'model' | 'against' | 'schemaCheck';

const LONG: Record<string, FlagName> = {
  '--namespace': 'namespace',
  '--context': 'context',
  '--kubeconfig': 'kubeconfig',
  '--output': 'output',
  '--full': 'full',
  '--help': 'help',
  '--model': 'model',
  '--against': 'against',
  '--schema-check': 'schemaCheck',
};
const SHORT: Record<string, FlagName> = { '-n': 'namespace', '-o': 'output', '-h': 'help' };
const BOOLEAN: ReadonlySet<FlagName> = new Set(['full', 'help']);

function isSubcommand(s: string): s is Subcommand {
  return (SUBCOMMANDS as readonly string[]).includes(s);
}

/** Parses the plugin's arguments (what kubectl passes after `siskin`). */
export function parseArgs(argv: readonly string[]): CliArgs {
  const positional: string[] = [];
  const values: Partial<Record<FlagName, string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    let flag: FlagName | undefined;
    let inline: string | undefined;
    let spelled: string;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      spelled = eq < 0 ? arg : arg.slice(0, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
      flag = LONG[spelled];
    } else {
      spelled = arg.slice(0, 2);
      flag = SHORT[spelled];
      // pflag accepts -nml and -n=ml as well as -n ml.
      if (arg.length > 2) inline = arg[2] === '=' ? arg.slice(3) : arg.slice(2);
    }
    if (!flag) throw new UsageError(`unknown flag: ${spelled}`);
    if (BOOLEAN.has(flag)) {
      if (inline !== undefined && inline !== 'true' && inline !== 'false') {
        throw new UsageError(arg.startsWith('--') ? `flag ${spelled} takes no value (got "${inline}")` : `unknown flag: ${arg}`);
      }
      values[flag] = inline === 'false' ? 'false' : 'true';
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: ${spelled}`);
      inline = next;
      i++;
    }
    if (inline === '') throw new UsageError(`flag ${spelled} needs a non-empty value`);
    // As in pflag, a repeated flag's last value wins.
    values[flag] = inline;
  }

  if (values.help === 'true' || positional[0] === 'help') return { kind: 'help' };
  const [command, name, ...extra] = positional;
  if (command === undefined) throw new UsageError('missing command');
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`unknown output format "${output}": use table or json`);
  if (command === 'check') return checkArgs(positional.slice(1), values, output);
  if (command === 'lint') return lintArgs(positional.slice(1), values, output);
  for (const flag of ['model', 'against', 'schemaCheck'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`--${flag === 'schemaCheck' ? 'schema-check' : flag} is for check, not ${command}`);
  }
  if (!isSubcommand(command)) throw new UsageError(`unknown command "${command}"`);
  if (name === undefined) throw new UsageError(`${command} needs the name of a ModelDeployment: kubectl siskin ${command} NAME`);
  if (extra.length > 0) throw new UsageError(`${command} takes one ModelDeployment name, got extra arguments: ${extra.join(' ')}`);
  if (values.output !== undefined && command !== 'status' && command !== 'history') throw new UsageError(`-o/--output is for status and history, not ${command}`);
  const full = values.full === 'true';
  if (full && command !== 'promote') throw new UsageError(`--full is for promote, not ${command}`);
  return {
    kind: 'run',
    command,
    name,
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    output,
    full,
  };
}

/** kubectl's spellings of the resource in TYPE/NAME form. */
const RESOURCE_NAMES = new Set(['md', 'modeldeployment', 'modeldeployments', 'modeldeployment.siskin.dev', 'modeldeployments.siskin.dev']);

/** The ModelDeployment name in `md/NAME` (also `modeldeployment/NAME`, or plain `NAME`). */
function modelDeploymentName(ref: string): string {
  const slash = ref.indexOf('/');
  if (slash < 0) return ref;
  const type = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  if (!RESOURCE_NAMES.has(type.toLowerCase())) throw new UsageError(`check compares against a ModelDeployment: "${ref}" is a ${type}, use md/NAME`);
  if (name === '' || name.includes('/')) throw new UsageError(`"${ref}" is not md/NAME`);
  return name;
}

function checkArgs(positional: readonly string[], values: Partial<Record<FlagName, string>>, output: OutputFormat): CliArgs {
  if (values.full !== undefined) throw new UsageError('--full is for promote, not check');
  const model = values.model;
  if (model === undefined) throw new UsageError('check needs the new model: kubectl siskin check --model NEW.onnx md/NAME (or --against STABLE.onnx)');
  const mode = values.schemaCheck;
  if (mode !== undefined && !(SCHEMA_CHECK_MODES as readonly string[]).includes(mode)) {
    throw new UsageError(`unknown --schema-check "${mode}": use ${SCHEMA_CHECK_MODES.join(', ')}`);
  }
  if (positional.length > 1) throw new UsageError(`check takes one ModelDeployment, got: ${positional.join(' ')}`);
  const [ref] = positional;
  if (values.against !== undefined && ref !== undefined) throw new UsageError(`check compares against either md/NAME or --against STABLE.onnx, not both (got ${ref} and --against ${values.against})`);
  if (values.against === undefined && ref === undefined) throw new UsageError('check needs what to compare with: md/NAME (its stable revision) or --against STABLE.onnx');
  const against = values.against !== undefined ? { file: values.against } : { name: modelDeploymentName(ref!) };
  if ('file' in against) {
    for (const flag of ['namespace', 'context', 'kubeconfig'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} selects a cluster: check --against reads no cluster`);
    }
  }
  return {
    kind: 'check',
    model,
    against,
    ...(mode !== undefined ? { schemaCheck: mode as (typeof SCHEMA_CHECK_MODES)[number] } : {}),
    output,
    ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
  };
}

function lintArgs(positional: readonly string[], values: Partial<Record<FlagName, string>>, output: OutputFormat): CliArgs {
  for (const flag of ['full', 'model', 'against', 'schemaCheck', 'namespace', 'context', 'kubeconfig'] as const) {
    if (values[flag] !== undefined) throw new UsageError(`lint reads files only: --${flag === 'schemaCheck' ? 'schema-check' : flag} does not apply`);
  }
  if (positional.length === 0) throw new UsageError('lint needs at least one file: kubectl siskin lint FILE... ("-" reads stdin)');
  if (positional.filter((f) => f === '-').length > 1) throw new UsageError('lint reads stdin ("-") once');
  return { kind: 'lint', files: [...positional], output };
}
