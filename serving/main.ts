// The process: parse the environment, listen, load the model, and shut down gracefully
// on SIGTERM (Kubernetes) or SIGINT. Any startup error exits non-zero, never ready.
import { parseConfig } from './config.ts';
import { createServing } from './server.ts';
import type { Serving } from './server.ts';

const parsed = parseConfig(process.env);
if (!parsed.ok) {
  process.stderr.write(`siskin-serving: invalid configuration\n${parsed.problems.map((p) => `  - ${p}\n`).join('')}`);
  process.exit(2);
}
const config = parsed.config;

let serving: Serving;
try {
  serving = await createServing(config);
} catch (err) {
  process.stderr.write(`siskin-serving: ${(err as Error).message}\n`);
  process.exit(2);
}
const { app } = serving;

let stopping = false;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down: finishing accepted requests');
  // If draining hangs (a stuck shadow, a wedged worker) the pod must still go away.
  setTimeout(() => {
    app.log.error('shutdown timed out');
    process.exit(1);
  }, config.shutdownTimeoutMs).unref();
  await serving.shutdown();
  app.log.info('shutdown complete');
  process.exit(0);
}
process.once('SIGTERM', () => void stop('SIGTERM'));
process.once('SIGINT', () => void stop('SIGINT'));

// Listen first: liveness and metrics answer while a large model downloads; ready waits.
await app.listen({ host: config.host, port: config.port });
try {
  await serving.load();
} catch (err) {
  app.log.fatal({ err }, 'model failed to load; the server will not become ready');
  await serving.shutdown();
  process.exit(1);
}
