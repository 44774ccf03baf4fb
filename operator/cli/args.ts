// Command-line parsing for kubectl-siskin: pure, so every accepted and rejected form is a
// table test. Flags follow kubectl's spelling (-n/--namespace, --context, --kubeconfig,
// -o) and pflag's forms (`-n x`, `-n=x`, `-nx`, `--namespace x`, `--namespace=x`).

/** The plugin's subcommands. */
export const SUBCOMMANDS = ['status', 'promote', 'abort', 'retry', 'pause', 'resume', 'history'] as const;

/** One subcommand. */
export type Subcommand = (typeof SUBCOMMANDS)[number];

/** Output formats of the read-only subcommands. */
export type OutputFormat = 'table' | 'json';

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
    };

/** A command line that cannot be run; main prints it with a pointer to --help. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The text of `kubectl siskin --help`. */
export const USAGE = `kubectl siskin: control Siskin ModelDeployment rollouts (siskin.dev/v1alpha1, short name md).

Usage:
  kubectl siskin COMMAND NAME [flags]

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

Flags:
  -n, --namespace NS    Namespace of the ModelDeployment (default: the context's, else "default")
      --context NAME    kubeconfig context to use
      --kubeconfig PATH kubeconfig file (default: $KUBECONFIG, else ~/.kube/config)
  -o, --output FORMAT   table (default) or json, for status and history
      --full            With promote: promote fully, skipping the remaining steps
  -h, --help            Show this help

Each command writes an annotation the operator acts on, so GitOps users have the same levers:
  siskin.dev/command=VERB:NONCE   promote, promote-full, abort, retry or resume; runs once per
                                  distinct value (the plugin writes a fresh nonce every time)
  siskin.dev/paused="true"        holds the rollout until the annotation is removed

Examples:
  kubectl siskin status iris -n ml
  kubectl siskin status iris -o json
  kubectl siskin promote iris --full
`;

type FlagName = 'namespace' | 'context' | 'kubeconfig' | 'output' | 'full' | 'help';

const LONG: Record<string, FlagName> = {
  '--namespace': 'namespace',
  '--context': 'context',
  '--kubeconfig': 'kubeconfig',
  '--output': 'output',
  '--full': 'full',
  '--help': 'help',
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
  if (!isSubcommand(command)) throw new UsageError(`unknown command "${command}"`);
  if (name === undefined) throw new UsageError(`${command} needs the name of a ModelDeployment: kubectl siskin ${command} NAME`);
  if (extra.length > 0) throw new UsageError(`${command} takes one ModelDeployment name, got extra arguments: ${extra.join(' ')}`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`unknown output format "${output}": use table or json`);
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
