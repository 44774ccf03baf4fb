// Graceful shutdown: on SIGTERM run named steps in order, each bounded in time, never skipping the
// rest because one failed; the order is the caller's, and main.ts must stop reconciling before it
// releases the lease (a released lease lets a standby start while our reconciles still run).
import type { Logger } from './logger.ts';

/** One shutdown step. */
export interface ShutdownStep {
  name: string;
  run: () => Promise<void> | void;
}

/** Tuning of the shutdown sequence. */
export interface ShutdownOptions {
  steps: ShutdownStep[];
  /** Upper bound per step, so one stuck step cannot eat the pod's termination grace period. Default 10 s. */
  stepTimeoutMs?: number;
  log?: Logger;
}

/** Outcome of one step. */
export interface StepOutcome {
  name: string;
  ok: boolean;
  error?: string;
}

/** Runs every step in order; a failing or timed-out step is reported and the next one still runs. */
export async function runShutdown(opts: ShutdownOptions): Promise<StepOutcome[]> {
  const outcomes: StepOutcome[] = [];
  const timeoutMs = opts.stepTimeoutMs ?? 10_000;
  for (const step of opts.steps) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(step.run),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      outcomes.push({ name: step.name, ok: true });
      opts.log?.info({ step: step.name }, 'shutdown step done');
    } catch (err) {
      outcomes.push({ name: step.name, ok: false, error: err instanceof Error ? err.message : String(err) });
      opts.log?.error({ err, step: step.name }, 'shutdown step failed');
    } finally {
      clearTimeout(timer);
    }
  }
  return outcomes;
}

/**
 * Runs the shutdown once on the first of signals, then calls exit (process.exit by default) with
 * 0 when every step succeeded, 1 otherwise. Returns a function that removes the signal handlers.
 */
export function onTerminationSignal(
  opts: ShutdownOptions & { signals?: NodeJS.Signals[]; exit?: (code: number) => void },
): () => void {
  const signals = opts.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let started = false;
  const handler = (signal: NodeJS.Signals): void => {
    // A second signal while shutting down is ignored: the steps are already running.
    if (started) return;
    started = true;
    opts.log?.info({ signal }, 'shutting down');
    void runShutdown(opts).then((outcomes) => exit(outcomes.every((o) => o.ok) ? 0 : 1));
  };
  for (const s of signals) process.on(s, handler);
  return () => {
    for (const s of signals) process.off(s, handler);
  };
}
