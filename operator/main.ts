// The operator's entrypoint: validated configuration, one manager (informers, probes, metrics,
// leader election) running the ModelDeployment controller, graceful shutdown on SIGTERM.
import { KubeConfig } from '@kubernetes/client-node';
import { addModelDeploymentController } from './controller/setup.ts';
import { reuseConnections } from './runtime/connections.ts';
import { ConfigError, loadConfig } from './runtime/config.ts';
import { createLogger } from './runtime/logger.ts';
import { Manager, managerOptionsFromConfig } from './runtime/manager.ts';
import { OperatorMetrics } from './runtime/metrics.ts';

let config;
try {
  config = loadConfig(process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`siskin-operator: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
const logger = createLogger({ level: config.logLevel });
const kubeConfig = new KubeConfig();
// In a pod: the ServiceAccount; elsewhere: KUBECONFIG or ~/.kube/config.
kubeConfig.loadFromDefault();
// Every API client below shares one connection pool (client-node would open one per request).
reuseConnections(kubeConfig);
// The process's own RSS, heap and CPU beside the controller's series: what an SRE sizes its limit by.
const manager = new Manager({ ...managerOptionsFromConfig(config, kubeConfig, logger), metrics: new OperatorMetrics({ processMetrics: true }) });
addModelDeploymentController(manager, { kubeConfig, config, logger });
manager.stopOnSignals();
await manager.start();
logger.info({ namespace: config.watchNamespace ?? 'all', image: config.defaultServingImage }, 'siskin operator started');
