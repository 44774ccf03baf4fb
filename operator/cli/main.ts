// kubectl-siskin's entry point (run by bin/kubectl-siskin, which kubectl finds on PATH as the
// plugin for `kubectl siskin …`). Exit codes (EXIT): 0 done, 1 the command failed, 2 a bad
// command line, 3 check found a breaking change or lint an invalid ModelDeployment.
import { parseArgs, USAGE, UsageError } from './args.ts';
import { CliError, EXIT, resolveTarget, runCheck, runCommand, runLint } from './commands.ts';

const io = {
  stdout: (text: string): void => void process.stdout.write(text),
  stderr: (text: string): void => void process.stderr.write(text),
  now: (): number => Date.now(),
  readStdin: async (): Promise<string> => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

async function main(): Promise<void> {
  try {
    const args = parseArgs(process.argv.slice(2));
    if (args.kind === 'help') io.stdout(USAGE);
    else if (args.kind === 'check') process.exitCode = await runCheck(args, () => resolveTarget(args), io);
    else if (args.kind === 'lint') process.exitCode = await runLint(args, io);
    else await runCommand(args, resolveTarget(args), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\nSee 'kubectl siskin --help' for usage.\n`);
      process.exitCode = EXIT.usage;
    } else if (err instanceof CliError) {
      io.stderr(`error: ${err.message}\n`);
      process.exitCode = EXIT.failed;
    } else {
      // A bug, not a user error: keep the stack for the report.
      io.stderr(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = EXIT.failed;
    }
  }
}

// A function, not top-level await: the single executable (scripts/build-plugin.ts) bundles
// this file as CommonJS, which has no top-level await. main catches everything it throws.
void main();
