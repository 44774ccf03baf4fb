// kubectl-siskin's entry point (run by bin/kubectl-siskin, which kubectl finds on PATH as the
// plugin for `kubectl siskin …`). Exit codes: 0 done, 1 the command failed, 2 a bad command line.
import { parseArgs, USAGE, UsageError } from './args.ts';
import { CliError, resolveTarget, runCommand } from './commands.ts';

const io = {
  stdout: (text: string): void => void process.stdout.write(text),
  stderr: (text: string): void => void process.stderr.write(text),
  now: (): number => Date.now(),
};

async function main(): Promise<void> {
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.kind === 'help') io.stdout(USAGE);
    else await runCommand(args, resolveTarget(args), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\nSee 'kubectl siskin --help' for usage.\n`);
      process.exitCode = 2;
    } else if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      // A bug, not a user error: keep the stack for the report.
      io.stderr(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  }
}

// A function, not top-level await: the single executable (scripts/build-plugin.ts) bundles
// this file as CommonJS, which has no top-level await. main catches everything it throws.
void main();
