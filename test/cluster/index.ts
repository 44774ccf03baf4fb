// The local cluster library's one entry point, for tests, benchmarks and the demo.
export { findBinary, cacheRoot, componentData, buildScript, type BinaryName } from './binaries.ts';
export { startCluster, type LocalCluster, type LocalClusterOptions } from './cluster.ts';
export { SERVICE_CIDR, KUBERNETES_SERVICE_IP, NODE_IP } from './controlPlane.ts';
export { startPrometheus, renderPrometheusConfig, type LocalPrometheus, type PromSample } from './prometheus.ts';
export { podScrapeConfig, startPodPrometheus } from './podMetrics.ts';
export { pidAlive, makeTempDir, sweepStaleTempDirs, type ManagedProcess } from './process.ts';
export { freePort, waitFor, httpGet } from './net.ts';
export { runCli, runCliOk, type CliResult } from './tools.ts';
export { loadVersions, type Versions } from './versions.ts';
export { REAL_NODE_NAME, podProcesses, type RealNode } from './realNode.ts';
export { POD_CIDR, BRIDGE, bridgeExists, hasKubeChains, hasGuardChain, listNetns, nodeIpOnLo } from './hostNetwork.ts';
export { buildScratchImage, buildBusyboxHttpdImage, buildPauseImage, PAUSE_IMAGE } from './images.ts';
export { startModelStore, type ModelStore } from './modelStore.ts';
export { createHostPathClaim, LOCAL_STORAGE_CLASS } from './volumes.ts';
export { installGatewayApiCrds, startTraefik, TRAEFIK_CONTROLLER, type LocalTraefik } from './gateway.ts';
export { ensureDockerEngine, ensureBaseImage, buildRepoImage, saveImage, type DockerEngine } from './docker.ts';
export { serviceAccountWithRules } from './rbac.ts';
