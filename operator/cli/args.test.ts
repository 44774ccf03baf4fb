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
