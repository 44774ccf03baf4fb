// The kubectl-siskin command line: what is accepted (in kubectl's flag spellings) and what
// is refused with a message that names the problem.
import { describe, expect, test } from '@jest/globals';
import { parseArgs, UsageError, type CliArgs } from './args.ts';

const run = (over: Partial<Extract<CliArgs, { kind: 'run' }>>): CliArgs => ({ kind: 'run', command: 'status', name: 'iris', output: 'table', full: false, ...over });

describe('parseArgs accepts', () => {
  test.each<[string, string[], CliArgs]>([
    ['a subcommand and a name', ['status', 'iris'], run({})],
    ['-n NS', ['status', 'iris', '-n', 'ml'], run({ namespace: 'ml' })],
    ['-n=NS', ['status', '-n=ml', 'iris'], run({ namespace: 'ml' })],
    ['-nNS (pflag shorthand)', ['-nml', 'status', 'iris'], run({ namespace: 'ml' })],
    ['--namespace NS', ['status', 'iris', '--namespace', 'ml'], run({ namespace: 'ml' })],
    ['--namespace=NS', ['status', 'iris', '--namespace=ml'], run({ namespace: 'ml' })],
    ['the last of a repeated flag', ['status', 'iris', '-n', 'a', '-n', 'b'], run({ namespace: 'b' })],
    ['--context and --kubeconfig', ['history', 'iris', '--context', 'prod', '--kubeconfig=/k/config'], run({ command: 'history', context: 'prod', kubeconfig: '/k/config' })],
    ['-o json', ['status', 'iris', '-o', 'json'], run({ output: 'json' })],
    ['-ojson', ['status', 'iris', '-ojson'], run({ output: 'json' })],
    ['--output=table', ['history', 'iris', '--output=table'], run({ command: 'history' })],
    ['promote', ['promote', 'iris'], run({ command: 'promote' })],
    ['promote --full', ['promote', 'iris', '--full'], run({ command: 'promote', full: true })],
    ['promote --full=false', ['promote', 'iris', '--full=false'], run({ command: 'promote' })],
    ['abort', ['abort', 'iris'], run({ command: 'abort' })],
    ['retry', ['retry', 'iris'], run({ command: 'retry' })],
    ['pause', ['pause', 'iris'], run({ command: 'pause' })],
    ['resume', ['resume', 'iris', '-n', 'ml'], run({ command: 'resume', namespace: 'ml' })],
    ['a name after --', ['status', '--', '-odd-name'], run({ name: '-odd-name' })],
    ['-h', ['-h'], { kind: 'help' }],
    ['--help after a command', ['status', 'iris', '--help'], { kind: 'help' }],
    ['--help with an otherwise bad line', ['frobnicate', '--help'], { kind: 'help' }],
    ['help', ['help'], { kind: 'help' }],
    ['check against a ModelDeployment', ['check', '--model', 'new.onnx', 'md/iris'], { kind: 'check', model: 'new.onnx', against: { name: 'iris' }, output: 'table' }],
    ['check with -n, -o json and a long resource name', ['check', '--model=new.onnx', 'modeldeployment.siskin.dev/iris', '-n', 'ml', '-ojson'], { kind: 'check', model: 'new.onnx', against: { name: 'iris' }, namespace: 'ml', output: 'json' }],
    ['check against a plain name', ['check', 'iris', '--model', 'new.onnx', '--context', 'prod'], { kind: 'check', model: 'new.onnx', against: { name: 'iris' }, context: 'prod', output: 'table' }],
    ['check --against a file', ['check', '--model', 'new.onnx', '--against', 'stable.onnx'], { kind: 'check', model: 'new.onnx', against: { file: 'stable.onnx' }, output: 'table' }],
    ['check --schema-check', ['check', '--model', 'n.onnx', 'md/iris', '--schema-check', 'AllowAdditive'], { kind: 'check', model: 'n.onnx', against: { name: 'iris' }, schemaCheck: 'AllowAdditive', output: 'table' }],
    ['lint of files', ['lint', 'a.yaml', 'b.yaml'], { kind: 'lint', files: ['a.yaml', 'b.yaml'], output: 'table' }],
    ['lint of stdin, as JSON', ['lint', '-', '-o', 'json'], { kind: 'lint', files: ['-'], output: 'json' }],
  ])('%s', (_, argv, want) => {
    expect(parseArgs(argv)).toEqual(want);
  });
});

describe('parseArgs refuses', () => {
  test.each<[string, string[], string]>([
    ['no arguments', [], 'missing command'],
    ['an unknown command', ['frobnicate', 'iris'], 'unknown command "frobnicate"'],
    ['a command without a name', ['promote'], 'promote needs the name of a ModelDeployment: kubectl siskin promote NAME'],
    ['a second name', ['status', 'iris', 'mnist'], 'status takes one ModelDeployment name, got extra arguments: mnist'],
    ['an unknown long flag', ['status', 'iris', '--watch'], 'unknown flag: --watch'],
    ['an unknown long flag with a value', ['status', 'iris', '--selector=app=x'], 'unknown flag: --selector'],
    ['an unknown short flag', ['status', 'iris', '-w'], 'unknown flag: -w'],
    ['a flag missing its value', ['status', 'iris', '-n'], 'flag needs an argument: -n'],
    ['an empty value', ['status', 'iris', '--namespace='], 'flag --namespace needs a non-empty value'],
    ['an unknown output format', ['status', 'iris', '-o', 'yaml'], 'unknown output format "yaml": use table or json'],
    ['-o on a control command', ['abort', 'iris', '-o', 'json'], '-o/--output is for status and history, not abort'],
    ['--full on anything but promote', ['abort', 'iris', '--full'], '--full is for promote, not abort'],
    ['a value on a boolean flag', ['promote', 'iris', '--full=yes'], 'flag --full takes no value (got "yes")'],
    ['check without --model', ['check', 'md/iris'], 'check needs the new model: kubectl siskin check --model NEW.onnx md/NAME (or --against STABLE.onnx)'],
    ['check with nothing to compare with', ['check', '--model', 'n.onnx'], 'check needs what to compare with: md/NAME (its stable revision) or --against STABLE.onnx'],
    ['check with both md/NAME and --against', ['check', '--model', 'n.onnx', 'md/iris', '--against', 's.onnx'], 'check compares against either md/NAME or --against STABLE.onnx, not both (got md/iris and --against s.onnx)'],
    ['check against another kind', ['check', '--model', 'n.onnx', 'deploy/iris'], 'check compares against a ModelDeployment: "deploy/iris" is a deploy, use md/NAME'],
    ['check with an unknown mode', ['check', '--model', 'n.onnx', 'md/iris', '--schema-check', 'Lenient'], 'unknown --schema-check "Lenient": use Strict, AllowAdditive, Off'],
    ['check --against with a namespace', ['check', '--model', 'n.onnx', '--against', 's.onnx', '-n', 'ml'], '--namespace selects a cluster: check --against reads no cluster'],
    ['--model on another command', ['status', 'iris', '--model', 'n.onnx'], '--model is for check, not status'],
    ['lint without files', ['lint'], 'lint needs at least one file: kubectl siskin lint FILE... ("-" reads stdin)'],
    ['lint with a namespace', ['lint', 'a.yaml', '-n', 'ml'], 'lint reads files only: --namespace does not apply'],
  ])('%s', (_, argv, message) => {
    let thrown: unknown;
    try {
      parseArgs(argv);
    } catch (err) {
      thrown = err;
    }
    // A UsageError is what main turns into exit code 2 and a pointer to --help.
    expect(thrown).toBeInstanceOf(UsageError);
    expect((thrown as Error).message).toBe(message);
  });
});
