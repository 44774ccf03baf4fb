// Wiring: config → context → app, then the model load and a graceful shutdown. Shared by
// main.ts and the tests that run the server over real HTTP.
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { SERVING_ENV } from '../contract/servingEnv.ts';
import { build } from './app.ts';
import { TokenFile } from './auth.ts';
import type { ServingConfig } from './config.ts';
import type { ServingContext } from './context.ts';
import { ServingMetrics } from './metrics.ts';
import { ServedModel } from './model/served.ts';
import { DataQualityBreaker } from './quality/breaker.ts';
import { FeedbackStore } from './quality/feedback.ts';
import { FeedbackIds, authority } from './quality/feedbackIds.ts';
import { QualityMonitor } from './quality/monitor.ts';
import { resolvePrediction } from './quality/prediction.ts';
import { loadProfile } from './quality/profile.ts';
import { ShadowMirror } from './shadow/mirror.ts';
import { RoutingWatcher } from './shadow/watcher.ts';

/** A built server whose model loads separately. */
export interface Serving {
  app: FastifyInstance;
  ctx: ServingContext;
  /** Fetches, verifies, loads and warms the model; throws ModelLoadError. */
  load(): Promise<void>;
  /** Stops accepting, finishes accepted requests, stops workers and watchers. */
  shutdown(): Promise<void>;
}

/** Options for tests: faster polling of the routing file, captured logs. */
export interface ServingOptions {
  routingPollMs?: number;
  logStream?: { write(line: string): void };
}

/** Shortest peer key accepted: the HMAC in feedback ids is only as strong as its key. */
const MIN_PEER_KEY_BYTES = 16;

/**
 * The shared peer key, or a reason there is none. A missing file is not fatal (the operator's
 * Secret is optional, so a deleted one never stops pods): labels are then scored only on the
 * replica they reach.
 */
function readPeerKey(path: string | undefined): { key: Buffer } | { missing: string } {
  if (path === undefined) return { missing: 'no peer key file is configured' };
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (err) {
    return { missing: `peer key file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (key.length < MIN_PEER_KEY_BYTES) throw new Error(`peer key file ${path} holds ${key.length} bytes; at least ${MIN_PEER_KEY_BYTES} are needed`);
  return { key };
}

/** Ids naming this replica's address, signed with the peer key when there is one. */
function feedbackIdsFor(config: ServingConfig, app: FastifyInstance, peerKey: { key: Buffer } | { missing: string }): FeedbackIds {
  const bound = app.server.address();
  const port = bound !== null && typeof bound === 'object' ? bound.port : config.port;
  if (config.podIp !== undefined && 'key' in peerKey) return new FeedbackIds({ address: authority(config.podIp, port), key: peerKey.key });
  const why = 'missing' in peerKey ? peerKey.missing : `${SERVING_ENV.podIp} is not set`;
  app.log.info(`feedback labels are scored only on the replica they reach: ${why}`);
  return new FeedbackIds();
}

/** Builds the server; throws on a bad auth token file, peer key or reference profile. */
export async function createServing(config: ServingConfig, opts: ServingOptions = {}): Promise<Serving> {
  const metrics = new ServingMetrics(config.modelName, config.revision);
  const profile = config.referenceProfile === undefined ? undefined : await loadProfile(config.referenceProfile);
  const monitor = profile === undefined ? undefined : new QualityMonitor(profile, config.driftWindow);
  const breaker = config.breakerEnabled
    ? new DataQualityBreaker({ threshold: config.breakerThreshold, window: config.breakerMinRequests })
    : undefined;
  const peerKey = readPeerKey(config.peerKeyFile);
  const ctx: ServingContext = {
    config,
    metrics,
    model: undefined,
    prediction: undefined,
    monitor,
    breaker,
    feedback: new FeedbackStore(config.feedbackCapacity, config.feedbackTtlSeconds * 1000),
    feedbackIds: new FeedbackIds(),
    shadow: undefined,
    tokens: config.authTokenFile === undefined ? undefined : new TokenFile(config.authTokenFile),
    closing: false,
  };
  metrics.attach({
    queueDepth: () => ctx.model?.queueDepth() ?? 0,
    features: () => monitor?.featureStats() ?? [],
    ...(monitor === undefined ? {} : { predictionPsi: () => monitor.predictionPsi() }),
    breaker: () => ({ open: breaker?.isOpen() === true, badRatio: breaker?.badRatio() ?? 0 }),
  });
  const app = build(ctx, opts.logStream === undefined ? {} : { logStream: opts.logStream });
  // The port is known once listening (tests listen on port 0); no prediction is made before.
  app.addHook('onListen', (done) => {
    ctx.feedbackIds = feedbackIdsFor(config, app, peerKey);
    done();
  });
  let watcher: RoutingWatcher | undefined;

  return {
    app,
    ctx,
    async load() {
      const model = await ServedModel.load({
        name: config.modelName,
        revision: config.revision,
        source: { uri: config.modelUri, sha256: config.modelSha256, maxBytes: config.modelMaxBytes },
        workers: config.workers,
        intraOpThreads: config.intraOpThreads,
        spinning: config.spinning,
        runTimeoutMs: config.runTimeoutMs,
        batchMaxSize: config.batchMaxSize,
        batchMaxDelayMs: config.batchMaxDelayMs,
        queueBound: config.queueBound,
        warmup: config.warmup,
        warmupSample: config.warmupInputs,
        inlineMaxMicros: config.inlineMaxMicros,
        // Liveness now fails and the kubelet restarts the pod; this line says why.
        onWorkersDead: (err) => app.log.fatal({ err }, 'inference workers are dead; liveness fails'),
        onBatch: (rows, _requests, computeSeconds, path) => {
          metrics.batchSize.observe(rows);
          metrics.computeDuration.observe({ path }, computeSeconds);
        },
      });
      const rule = resolvePrediction(model.signature.outputs, config.task);
      ctx.prediction = rule;
      if (rule !== undefined && config.routingFile !== undefined) {
        const shadow = new ShadowMirror(
          config.modelName,
          rule,
          (result, shadowRevision, rows) => metrics.shadowComparisons.inc({ result, shadow_revision: shadowRevision }, rows),
          { revision: config.revision, token: () => ctx.tokens?.outgoing() },
        );
        ctx.shadow = shadow;
        watcher = new RoutingWatcher(
          config.routingFile,
          (target) => {
            shadow.setTarget(target);
            app.log.info({ shadow: target ?? null }, 'routing file read');
          },
          (err) => app.log.warn({ err }, 'routing file refused: mirroring nothing'),
          opts.routingPollMs,
        );
        await watcher.start();
      }
      metrics.modelLoad.set(model.loadSeconds);
      metrics.warmupFailed.set(model.warmup.ok ? 0 : 1);
      metrics.warmupDynamicSize.set(model.warmup.dynamicSize ?? 0);
      if (!model.warmup.ok) {
        app.log.warn(
          { warmup: model.warmup },
          'no generated warm-up input ran; serving anyway (give spec.serving.warmup.inputs to warm up, or to refuse a model that fails them)',
        );
      }
      ctx.model = model;
      metrics.ready.set(1);
      app.log.info(
        {
          model: model.name,
          revision: model.revision,
          loadSeconds: model.loadSeconds,
          batching: model.batching,
          inline: model.inlineStatus,
          warmup: model.warmup,
          signature: model.signature,
        },
        'model ready',
      );
    },
    async shutdown() {
      metrics.ready.set(0);
      ctx.closing = true;
      watcher?.stop();
      const drained = ctx.model?.shutdown();
      await app.close();
      await drained;
      await ctx.shadow?.idle();
    },
  };
}
