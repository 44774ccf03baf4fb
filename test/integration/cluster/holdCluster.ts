// Test helper process: starts a local cluster, prints its pids and dir, and waits to be
// signalled — so the interruption tests can kill it the way a user's Ctrl-C would.
import { startCluster } from '../../cluster/index.ts';

const cluster = await startCluster();
const pids = cluster.processes().map((p) => p.pid);
process.stdout.write(`READY ${JSON.stringify({ pids, dir: cluster.dir })}\n`);
setInterval(() => undefined, 1 << 30);
