// The ModelDeployment API (siskin.dev/v1alpha1): the single source of truth. The CRD in
// crds/ is generated from these zod schemas (crd.ts); the operator parses objects it reads
// with the same schemas. Descriptions become `kubectl explain` text, defaults are applied
// by the API server, and cross-field rules are CEL (x-kubernetes-validations) so the API
// server itself rejects a bad spec with the field's path; each rule also carries the same
// check in TypeScript (withRules), so the operator's parse refuses what admission would.
import { z } from 'zod';
import { MODEL_NAME_PATTERN, SERVING_DEFAULTS, warmupSampleSchema } from '../../contract/servingEnv.ts';

/** The API group. */
export const GROUP = 'siskin.dev';
/** The served and stored version. */
export const VERSION = 'v1alpha1';
/** The kind. */
export const KIND = 'ModelDeployment';
/** The plural resource name. */
export const PLURAL = 'modeldeployments';

/** A CEL rule the API server enforces, with the field it names on failure. */
interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

const cel = (...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } => ({ 'x-kubernetes-validations': rules });

/**
 * A cross-field rule, spelled for both of its enforcers side by side: CEL for the API server
 * (admission) and `holds` for the operator's own parse of what it reads. Both see the value
 * with defaults applied. rules.test.ts (zod) and test/integration/api/examples.test.ts (the
 * real API server) run one table of specs through each, so the two cannot drift apart.
 */
interface Rule<T> extends CelRule {
  holds: (self: T) => boolean;
}

/** Zod's issue path for a CEL fieldPath (".a.b" → ["a", "b"]). */
function issuePath(fieldPath: string | undefined): string[] {
  return fieldPath === undefined ? [] : fieldPath.split('.').filter((p) => p !== '');
}

/** Attaches rules to a schema: x-kubernetes-validations in the CRD, a refinement in zod. */
function withRules<S extends z.ZodType>(schema: S, ...rules: Rule<z.output<S>>[]): S {
  return schema
    .superRefine((value, ctx) => {
      for (const r of rules) if (!r.holds(value)) ctx.addIssue({ code: 'custom', message: r.message, path: issuePath(r.fieldPath) });
    })
    .meta(cel(...rules.map(({ holds: _holds, ...rule }) => rule)));
}

/** Whether a URI is fetched over the network (and so needs a digest). */
const overHttp = (uri: string): boolean => uri.startsWith('http://') || uri.startsWith('https://');

/** A Kubernetes resource quantity ("500m", "1Gi", 2). */
const quantity = z
  .union([z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/), z.number()])
  .meta({ 'x-kubernetes-int-or-string': true, description: 'A resource quantity, e.g. 500m, 512Mi, 2.' });

const resourceList = z.record(z.string(), quantity);

const sha256 = z
  .string()
  .regex(/^[a-f0-9]{64}$/)
  .describe('Hex SHA-256 digest of the file; verified before the model loads. Required for http(s) URIs.');

const uriPattern = /^(https?:\/\/[^\s]+|file:\/\/\/[^\s]+|pvc:\/\/[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[^\s]+)$/;

/** spec.model */
export const modelSpec = withRules(
  z
    .object({
      // The serving runtime's own rule, from the contract both sides import. Anything looser
      // passes admission and then crash-loops every pod (the server exits 2 on a name it refuses).
      name: z
        .string()
        .regex(MODEL_NAME_PATTERN)
        .optional()
        .describe('Name the model is served under (the {name} in /v2/models/{name}); defaults to the object name.'),
      uri: z
        .string()
        .max(2048)
        .regex(uriPattern)
        .describe(
          'Where the ONNX file is: https://… or http://… (with sha256), file:///path inside the image or a mounted volume, or pvc://claim/path on a PersistentVolumeClaim.',
        ),
      sha256: sha256.optional(),
      version: z.string().min(1).max(63).regex(/^[a-zA-Z0-9][a-zA-Z0-9_.+-]*$/).describe('Version label of this model, shown in status and history.'),
      referenceProfile: withRules(
        z
          .object({
            uri: z.string().max(2048).regex(uriPattern).describe('Where the training-data feature profile (JSON) is.'),
            sha256: sha256.optional(),
          })
          .describe('Per-feature reference distribution from training data; enables drift (PSI) measurements.'),
        {
          rule: "!(self.uri.startsWith('http://') || self.uri.startsWith('https://')) || has(self.sha256)",
          message: 'sha256 is required when the reference profile is fetched over http(s)',
          fieldPath: '.sha256',
          reason: 'FieldValueRequired',
          holds: (p) => !overHttp(p.uri) || p.sha256 !== undefined,
        },
      ).optional(),
    })
    .describe('The model to serve.'),
  {
    rule: "!(self.uri.startsWith('http://') || self.uri.startsWith('https://')) || has(self.sha256)",
    message: 'sha256 is required when the model is fetched over http(s)',
    fieldPath: '.sha256',
    reason: 'FieldValueRequired',
    holds: (m) => !overHttp(m.uri) || m.sha256 !== undefined,
  },
);

/** spec.modelCard */
export const modelCardSpec = z
  .object({
    owner: z.string().min(1).max(256).describe('Team or person accountable for the model.'),
    intendedUse: z.string().max(4096).optional().describe('What the model is for, and for whom.'),
    limitations: z.string().max(4096).optional().describe('Known limitations and out-of-scope uses.'),
    evaluationMetrics: z.record(z.string(), z.number()).optional().describe('Offline evaluation results, e.g. {"auc": 0.91}.'),
    trainingData: z.string().max(2048).optional().describe('Reference to the training data set (URI or catalogue id).'),
    riskTier: z
      .enum(['low', 'medium', 'high'])
      .default('medium')
      .describe('Risk tier for governance; a high-risk model never reaches full weight without a manual promote.'),
  })
  .describe('Model card: ownership and intended use, carried into status history and Events for the audit trail.');

/** spec.serving */
export const servingSpec = z
  .object({
    image: z.string().max(512).optional().describe("Serving image; defaults to the operator's configured image."),
    resources: z
      .object({
        requests: resourceList.optional().describe('Minimum resources, e.g. {"cpu": "500m", "memory": "512Mi"}.'),
        limits: resourceList.optional().describe('Maximum resources.'),
      })
      .optional()
      .describe('Compute resources of each serving container.'),
    workers: z.number().int().min(1).max(64).default(1).describe('Inference worker threads per pod.'),
    intraOpThreads: z.number().int().min(1).max(64).default(1).describe('onnxruntime intra-op threads per worker.'),
    batching: z
      .object({
        enabled: z.boolean().default(false).describe('Merge concurrent requests along the batch dimension.'),
        maxBatchSize: z.number().int().min(1).max(1024).default(32).describe('Most rows in one merged batch.'),
        maxDelayMs: z.number().int().min(0).max(1000).default(2).describe('Longest a request waits for a batch to fill.'),
      })
      .optional()
      .describe('Dynamic batching.'),
    warmup: withRules(
      z.object({
        requests: z.number().int().min(0).max(10000).default(SERVING_DEFAULTS.warmup).describe('Inferences with generated inputs before the pod turns ready.'),
        inputs: warmupSampleSchema
          .optional()
          .describe(
            'A warm-up sample, one entry per model input, used instead of generated inputs (which try growing sizes for dynamic dimensions); a model that fails it never turns ready.',
          ),
      }),
      {
        rule: '!has(self.inputs) || self.inputs.all(a, self.inputs.filter(b, b.name == a.name).size() == 1)',
        holds: (w) => w.inputs === undefined || new Set(w.inputs.map((i) => i.name)).size === w.inputs.length,
        message: 'a warm-up sample names each model input once',
        fieldPath: '.inputs',
      },
    )
      .optional()
      .describe('Warm-up before readiness.'),
    auth: z
      .object({ secretName: z.string().min(1).max(253).describe('Secret whose key "tokens" holds accepted bearer tokens, one per line.') })
      .optional()
      .describe('Bearer-token authentication of inference requests.'),
    payloadLogSampleRate: z.number().min(0).max(1).default(0).describe('Fraction of inference payloads logged (never auth headers).'),
  })
  .describe('How the model is served.');

/** spec.autoscaling */
export const autoscalingSpec = withRules(
  z
    .object({
      minReplicas: z
        .number()
        .int()
        .min(0)
        .max(1000)
        .default(1)
        .describe(
          'Fewest replicas. 0 lets an idle model scale to zero (see scaleToZeroAfterSeconds): its Services then point at the operator\'s activator, which holds the first requests until a pod is ready and answers them.',
        ),
      scaleToZeroAfterSeconds: z
        .number()
        .int()
        .min(10)
        .max(86400)
        .optional()
        .describe(
          'With minReplicas 0: how long the model must get no inference request (to any revision, measured in Prometheus) before its pods go; default 300. Never while a rollout runs, nor when Prometheus cannot tell. Only meaningful with minReplicas 0.',
        ),
      maxReplicas: z.number().int().min(1).max(1000).describe('Most replicas.'),
      targetRequestsPerSecond: z.number().gt(0).optional().describe('Requests per second one replica should carry.'),
      targetP99LatencySeconds: z.number().gt(0).optional().describe('p99 request latency to stay under.'),
      scaleUpStabilizationSeconds: z.number().int().min(0).max(3600).default(0).describe('How long a higher recommendation must hold before scaling up.'),
      scaleDownStabilizationSeconds: z.number().int().min(0).max(3600).default(300).describe('How long a lower recommendation must hold before scaling down.'),
    })
    .describe('Metric-driven autoscaling from Prometheus; when set, spec.replicas is ignored.'),
  { rule: 'self.minReplicas <= self.maxReplicas', message: 'minReplicas must not exceed maxReplicas', fieldPath: '.minReplicas', holds: (a) => a.minReplicas <= a.maxReplicas },
  {
    rule: '!has(self.scaleToZeroAfterSeconds) || self.minReplicas == 0',
    message: 'scaleToZeroAfterSeconds applies only with minReplicas 0',
    fieldPath: '.scaleToZeroAfterSeconds',
    reason: 'FieldValueInvalid',
    holds: (a) => a.scaleToZeroAfterSeconds === undefined || a.minReplicas === 0,
  },
  {
    rule: 'has(self.targetRequestsPerSecond) || has(self.targetP99LatencySeconds)',
    message: 'set targetRequestsPerSecond and/or targetP99LatencySeconds',
    reason: 'FieldValueRequired',
    holds: (a) => a.targetRequestsPerSecond !== undefined || a.targetP99LatencySeconds !== undefined,
  },
);

/** The metric kinds the analysis knows. */
export const METRIC_KINDS = ['LatencyQuantile', 'ErrorRate', 'FeatureDrift', 'PredictionAgreement', 'Accuracy', 'Custom'] as const;

/** One analysis metric with its bounds. */
export const metricSpec = withRules(
  z
    .object({
      name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/).describe('Name of the measurement, unique in the list.'),
      kind: z.enum(METRIC_KINDS).describe('Built-in metric, or Custom with a PromQL query.'),
      quantile: z.number().gt(0).lt(1).optional().describe('For LatencyQuantile: which quantile (default 0.99).'),
      query: z
        .string()
        .max(4096)
        .optional()
        .describe('For Custom: a PromQL template; {{namespace}}, {{name}} and {{revision}} are replaced.'),
      max: z.number().optional().describe('Fail when the canary value is above this.'),
      min: z.number().optional().describe('Fail when the canary value is below this.'),
      minSamples: z
        .number()
        .int()
        .min(1)
        .max(1000000)
        .optional()
        .describe('Fewest samples for a verdict on this metric (Accuracy: labelled predictions; PredictionAgreement: compared requests; others: requests). Default: analysis.minSamples.'),
      maxRelativeToStable: z.number().gt(0).optional().describe('Fail when canary > this × stable over the same window (e.g. 1.2).'),
      minRelativeToStable: z.number().gt(0).optional().describe('Fail when canary < this × stable over the same window.'),
    })
    .describe('An analysis metric: a measurement and its absolute and/or stable-relative bounds.'),
  {
    rule: "self.kind != 'Custom' || has(self.query)",
    message: 'a Custom metric needs a query',
    fieldPath: '.query',
    reason: 'FieldValueRequired',
    holds: (m) => m.kind !== 'Custom' || m.query !== undefined,
  },
  {
    rule: "self.kind == 'Custom' || !has(self.query)",
    message: 'query is only for Custom metrics',
    fieldPath: '.query',
    reason: 'FieldValueForbidden',
    holds: (m) => m.kind === 'Custom' || m.query === undefined,
  },
  {
    rule: "self.kind == 'LatencyQuantile' || !has(self.quantile)",
    message: 'quantile is only for LatencyQuantile metrics',
    fieldPath: '.quantile',
    reason: 'FieldValueForbidden',
    holds: (m) => m.kind === 'LatencyQuantile' || m.quantile === undefined,
  },
  {
    rule: 'has(self.max) || has(self.min) || has(self.maxRelativeToStable) || has(self.minRelativeToStable)',
    message: 'a metric needs at least one bound: max, min, maxRelativeToStable or minRelativeToStable',
    reason: 'FieldValueRequired',
    holds: (m) => [m.max, m.min, m.maxRelativeToStable, m.minRelativeToStable].some((b) => b !== undefined),
  },
);

/** spec.rollout.analysis */
export const analysisSpec = z
  .object({
    intervalSeconds: z.number().int().min(1).max(3600).default(10).describe('How often the analysis measures.'),
    windowSeconds: z.number().int().min(5).max(86400).default(60).describe('The range each measurement covers (the PromQL [window]); at least four scrape intervals.'),
    minSamples: z.number().int().min(1).max(1000000).default(50).describe('Fewest canary requests in a window for a verdict; fewer is Inconclusive.'),
    failureLimit: z.number().int().min(0).max(100).default(2).describe('Failed measurements tolerated before an automatic rollback.'),
    inconclusiveLimit: z.number().int().min(0).max(100).default(3).describe('Consecutive inconclusive measurements tolerated before the rollout pauses.'),
    shadowSampleRate: z
      .number()
      .gt(0)
      .max(1)
      .default(0.2)
      .describe('With a PredictionAgreement metric: the share of stable requests mirrored to the canary for comparison.'),
    metrics: z
      .array(metricSpec)
      .max(32)
      .default([])
      .describe('The metrics judged every interval.')
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  })
  .describe('Canary analysis on live Prometheus metrics.');

/** An HTTP header name: an RFC 9110 token, as Gateway API's HTTPHeaderName. */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/;

/** One condition of a header route: a request header equals a value, or matches a regular expression. */
export const headerMatchSpec = withRules(
  z
    .object({
      header: z.string().min(1).max(256).regex(HEADER_NAME).describe('HTTP header name (matched case-insensitively), e.g. x-siskin-canary.'),
      value: z.string().min(1).max(4096).optional().describe('The exact value the header must have.'),
      regex: z.string().min(1).max(1024).optional().describe("A regular expression the header's value must match (the Gateway implementation's dialect; Traefik: Go RE2)."),
    })
    .describe('A header condition: exactly one of value or regex.'),
  {
    rule: 'has(self.value) != has(self.regex)',
    message: 'a header match sets exactly one of value or regex',
    holds: (m) => (m.value === undefined) !== (m.regex === undefined),
  },
);

/** A header route step: matching requests go to the canary whatever its weight; without match, the route of that name is removed. */
export const headerRouteSpec = withRules(
  z
    .object({
      name: z
        .string()
        .min(1)
        .max(63)
        .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
        .describe('Name of the header route (a DNS label); a later step with this name and no match removes it.'),
      match: z
        .array(headerMatchSpec)
        .min(1)
        .max(8)
        .optional()
        .describe('Header conditions, all of which a request must meet to reach the canary; absent: remove the header route of this name.'),
    })
    .describe('GatewayAPI routing only: send requests with matching headers to the canary regardless of its weight, until promotion or rollback.'),
  {
    rule: '!has(self.match) || self.match.all(m, self.match.filter(n, n.header.lowerAscii() == m.header.lowerAscii()).size() == 1)',
    message: 'each header appears once in a header route (names are case-insensitive)',
    fieldPath: '.match',
    holds: (r) => !r.match || new Set(r.match.map((m) => m.header.toLowerCase())).size === r.match.length,
  },
);

/** One header condition in effect: the header equals value, or its value matches regex. */
export type HeaderMatch = { header: string; value: string; regex?: undefined } | { header: string; regex: string; value?: undefined };

/** A header route in effect: requests meeting every condition of match go to the canary, whatever its weight. */
export interface HeaderRoute {
  name: string;
  match: readonly HeaderMatch[];
}

/** One canary step: exactly one of setWeight, pause, analysis. */
export const stepSpec = withRules(
  z
    .object({
      setWeight: z.number().int().min(0).max(100).optional().describe('Send this percentage of traffic to the canary.'),
      pause: z
        .object({ durationSeconds: z.number().int().min(0).max(604800).optional().describe('How long to wait; absent: until promoted.') })
        .optional()
        .describe('Wait, for a duration or until a manual promote.'),
      analysis: z
        .object({ durationSeconds: z.number().int().min(1).max(604800).describe('How long the analysis must pass at the current weight.') })
        .optional()
        .describe('Hold at the current weight while the analysis runs.'),
      shadow: z
        .object({
          durationSeconds: z.number().int().min(1).max(604800).describe('How long the canary is judged on mirrored traffic before the next step.'),
          sampleRate: z.number().gt(0).max(1).default(0.2).describe('The share of stable requests mirrored to the canary (their answers are discarded).'),
        })
        .optional()
        .describe(
          'Dark launch: the canary runs at weight 0 on mirrored copies of stable requests and is judged (latency, errors, agreement, drift; not Accuracy, which needs answers clients got) before any client sees it. Comes before every setWeight above 0.',
        ),
      setHeaderRoute: headerRouteSpec.optional(),
    })
    .describe('A canary step.'),
  {
    rule: '[has(self.setWeight), has(self.pause), has(self.analysis), has(self.shadow), has(self.setHeaderRoute)].filter(x, x).size() == 1',
    message: 'a step sets exactly one of setWeight, pause, analysis, shadow or setHeaderRoute',
    holds: (s) => [s.setWeight, s.pause, s.analysis, s.shadow, s.setHeaderRoute].filter((x) => x !== undefined).length === 1,
  },
);

/** The message of an unknown freeze-window time zone (the operator's parse only; see timeZone). */
export const UNKNOWN_TIME_ZONE = 'unknown IANA time zone';

/** Whether Intl (the zone database the freeze windows are evaluated with) knows the zone. */
function isKnownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** One freeze window: absolute (start/end) or weekly (days + times). */
export const freezeWindowSpec = withRules(
  z
    .object({
      name: z.string().min(1).max(63).describe('Name of the window, shown in conditions.'),
      start: z.string().datetime({ offset: true }).optional().describe('Absolute window start (RFC 3339).'),
      end: z.string().datetime({ offset: true }).optional().describe('Absolute window end (RFC 3339).'),
      days: z
        .array(z.enum(['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']))
        .max(7)
        .optional()
        .describe('Weekly window: the days it applies.'),
      from: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/).optional().describe('Weekly window: start time, HH:MM.'),
      to: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/).optional().describe('Weekly window: end time, HH:MM.'),
      // Not CEL: the API server has no IANA zone list to check against (its Go time zone
      // database is not Node's ICU one, and a CEL evaluation error is no field message). The
      // operator's parse refuses an unknown zone with this field's path instead.
      timeZone: z
        .string()
        .max(64)
        .refine(isKnownTimeZone, { message: UNKNOWN_TIME_ZONE })
        .default('UTC')
        .describe('IANA time zone of a weekly window.'),
    })
    .describe('A window in which no rollout step advances (rollbacks still happen).'),
  {
    rule: '(has(self.start) && has(self.end) && !has(self.days)) || (!has(self.start) && !has(self.end) && has(self.days) && has(self.from) && has(self.to))',
    message: 'a freeze window is either absolute (start and end) or weekly (days, from and to)',
    holds: (w) =>
      (w.start !== undefined && w.end !== undefined && w.days === undefined) ||
      (w.start === undefined && w.end === undefined && w.days !== undefined && w.from !== undefined && w.to !== undefined),
  },
  {
    rule: '!has(self.start) || !has(self.end) || timestamp(self.end) > timestamp(self.start)',
    message: 'end must be after start',
    fieldPath: '.end',
    holds: (w) => w.start === undefined || w.end === undefined || Date.parse(w.end) > Date.parse(w.start),
  },
);

/** The setWeight values of the steps, in order. */
function weightsOf(steps: readonly { setWeight?: number | undefined }[]): number[] {
  return steps.flatMap((s) => (s.setWeight === undefined ? [] : [s.setWeight]));
}

/** Whether no shadow step follows a setWeight above 0. */
function darkBeforeLight(steps: readonly { setWeight?: number | undefined; shadow?: unknown }[]): boolean {
  const firstLight = steps.findIndex((s) => (s.setWeight ?? 0) > 0);
  return firstLight < 0 || !steps.slice(firstLight).some((s) => s.shadow !== undefined);
}

/**
 * Whether the canary answers clients before the rollout first waits for a passing analysis
 * round: the first step that either puts weight on the canary or waits on the analysis (a
 * timed pause, an analysis step; the end of the steps waits too) is a setWeight above 0.
 */
function weightBeforeFirstJudgement(steps: readonly { setWeight?: number | undefined; pause?: { durationSeconds?: number | undefined } | undefined; analysis?: unknown }[]): boolean {
  const first = steps.find((s) => (s.setWeight ?? 0) > 0 || s.analysis !== undefined || s.pause?.durationSeconds !== undefined);
  return first?.setWeight !== undefined;
}

/** spec.rollout */
export const rolloutSpec = withRules(
  z
    .object({
      steps: withRules(
        z
          .array(stepSpec)
          .max(32)
          .default([{ setWeight: 20 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: { durationSeconds: 60 } }])
          .describe('Canary steps, in order; after the last one the canary is promoted.'),
        {
          rule: 'self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted() && self.filter(s, has(s.setWeight)).map(s, s.setWeight).all(w, self.filter(s, has(s.setWeight) && s.setWeight == w).size() == 1)',
          message: 'setWeight values must increase from step to step',
          holds: (steps) => weightsOf(steps).every((w, i, all) => i === 0 || w > all[i - 1]!),
        },
        {
          // 1 for a shadow step, 2 for a weight above 0: every 1 must come before every 2.
          rule: 'self.map(s, has(s.shadow) ? 1 : (has(s.setWeight) && s.setWeight > 0 ? 2 : 0)).filter(x, x != 0).isSorted()',
          message: 'a shadow step must come before every setWeight above 0: a dark launch ends when clients see the canary',
          holds: (steps) => darkBeforeLight(steps),
        },
      ),
      trafficRouting: withRules(
        z
          .object({
            type: z.enum(['ReplicaRatio', 'GatewayAPI']).default('ReplicaRatio').describe('ReplicaRatio (weights become replica counts; needs nothing) or GatewayAPI (HTTPRoute backend weights).'),
            httpRoute: z.string().max(253).optional().describe('GatewayAPI: name of the HTTPRoute (same namespace) whose stable/canary backend weights the operator owns.'),
          })
          .describe('How canary weight becomes traffic.'),
        {
          rule: "self.type != 'GatewayAPI' || has(self.httpRoute)",
          message: 'GatewayAPI routing needs httpRoute',
          fieldPath: '.httpRoute',
          reason: 'FieldValueRequired',
          holds: (t) => t.type !== 'GatewayAPI' || t.httpRoute !== undefined,
        },
      ).default({ type: 'ReplicaRatio' }),
      analysis: analysisSpec.optional(),
      schemaCheck: z
        .enum(['Strict', 'AllowAdditive', 'Off'])
        .default('Strict')
        .describe("Schema gate between versions: Strict (same inputs and outputs), AllowAdditive (new optional outputs only), Off."),
      freezeWindows: z.array(freezeWindowSpec).max(32).optional().describe('Windows in which rollouts do not advance.'),
      progressDeadlineSeconds: z.number().int().min(30).max(86400).default(600).describe('Longest a canary may take to become ready before the rollout fails.'),
    })
    .describe('How a new model version rolls out.'),
  {
    // The canary's predictions can be labelled only when clients got them: feedback names a
    // request id the client was answered with, and requests the stable revision mirrors to
    // the canary (PredictionAgreement) are answered by the stable one. At weight 0 an
    // Accuracy metric has no samples, so every round before the first weight is Inconclusive.
    rule:
      "!has(self.analysis) || !self.analysis.metrics.exists(m, m.kind == 'Accuracy') || " +
      '(self.steps.exists(s, has(s.setWeight) && s.setWeight > 0) && ' +
      'has(self.steps.filter(s, (has(s.setWeight) && s.setWeight > 0) || has(s.analysis) || (has(s.pause) && has(s.pause.durationSeconds)))[0].setWeight))',
    message:
      'an Accuracy metric needs a setWeight above 0 before the first timed pause or analysis step: feedback can only label predictions the canary returned to clients',
    fieldPath: '.steps',
    holds: (r) => !r.analysis?.metrics.some((m) => m.kind === 'Accuracy') || weightBeforeFirstJudgement(r.steps),
  },
  {
    // A replica ratio has no request to look at: the Service picks pods, not headers.
    rule: "self.trafficRouting.type == 'GatewayAPI' || !self.steps.exists(s, has(s.setHeaderRoute))",
    message: 'setHeaderRoute steps need trafficRouting.type GatewayAPI: replica-ratio routing cannot route by header',
    fieldPath: '.steps',
    holds: (r) => r.trafficRouting.type === 'GatewayAPI' || !r.steps.some((s) => s.setHeaderRoute !== undefined),
  },
  {
    rule: 'self.steps.all(s, !has(s.setHeaderRoute) || has(s.setHeaderRoute.match) || self.steps.exists(t, has(t.setHeaderRoute) && has(t.setHeaderRoute.match) && t.setHeaderRoute.name == s.setHeaderRoute.name))',
    message: 'a setHeaderRoute without match removes a header route, so another step must set that name with match',
    fieldPath: '.steps',
    holds: (r) => r.steps.every((s) => !s.setHeaderRoute || s.setHeaderRoute.match !== undefined || r.steps.some((t) => t.setHeaderRoute?.match !== undefined && t.setHeaderRoute.name === s.setHeaderRoute!.name)),
  },
);

/**
 * The one ServiceAccount a retraining Job may name. The operator creates retrain Jobs with its
 * own identity, so a free serviceAccountName would lend a ModelDeployment author any account of
 * the namespace; the platform team creates this one per namespace with the rights retraining
 * needs (docs/security.md). Without it the Job runs as `default`, with no token mounted.
 */
export const RETRAIN_SERVICE_ACCOUNT = 'siskin-retrain';

/** A JSON object whose fields beyond the declared ones are kept as they are (a Kubernetes API type, in part). */
const PRESERVE = { 'x-kubernetes-preserve-unknown-fields': true } as const;

/** Is this optional flag set to true? */
const isTrue = (flag: boolean | undefined): boolean => flag === true;

/**
 * A container of the retrain Job's pod, only as far as the restricted profile looks at it; the
 * rest (image, command, env, …) passes through to the Job API unchanged.
 */
const retrainContainer = withRules(
  z
    .object({
      securityContext: z
        .object({
          privileged: z.boolean().optional().describe('Must not be true.'),
          allowPrivilegeEscalation: z.boolean().optional().describe('Must not be true.'),
          capabilities: z
            .object({ add: z.array(z.string()).max(64).optional().describe('Must be empty: no capability is added.') })
            .loose()
            .meta(PRESERVE)
            .optional()
            .describe('Linux capabilities; dropping is fine.'),
        })
        .loose()
        .meta(PRESERVE)
        .optional()
        .describe("The container's security context, restricted."),
    })
    .loose()
    .meta(PRESERVE)
    .describe('A container (Kubernetes Container); the fields shown are restricted, the rest pass through.'),
  {
    rule: '!has(self.securityContext) || !has(self.securityContext.privileged) || !self.securityContext.privileged',
    message: 'a retraining container may not be privileged',
    fieldPath: '.securityContext.privileged',
    reason: 'FieldValueForbidden',
    holds: (c) => !isTrue(c.securityContext?.privileged),
  },
  {
    rule: '!has(self.securityContext) || !has(self.securityContext.allowPrivilegeEscalation) || !self.securityContext.allowPrivilegeEscalation',
    message: 'a retraining container may not allow privilege escalation',
    fieldPath: '.securityContext.allowPrivilegeEscalation',
    reason: 'FieldValueForbidden',
    holds: (c) => !isTrue(c.securityContext?.allowPrivilegeEscalation),
  },
  {
    rule: '!has(self.securityContext) || !has(self.securityContext.capabilities) || !has(self.securityContext.capabilities.add) || self.securityContext.capabilities.add.size() == 0',
    message: 'a retraining container may not add capabilities',
    fieldPath: '.securityContext.capabilities.add',
    reason: 'FieldValueForbidden',
    holds: (c) => (c.securityContext?.capabilities?.add ?? []).length === 0,
  },
);

/** The retraining pod's host namespaces: each its own rule, so the message names the field. */
const hostNamespaceRules = (['hostNetwork', 'hostPID', 'hostIPC'] as const).map((field) => ({
  rule: `!has(self.${field}) || !self.${field}`,
  message: `a retraining pod may not set ${field}`,
  fieldPath: `.${field}`,
  reason: 'FieldValueForbidden' as const,
  holds: (p: Partial<Record<typeof field, boolean>>) => !isTrue(p[field]),
}));

/** The ServiceAccount fields (serviceAccount is the deprecated alias the kubelet still honours). */
const serviceAccountRules = (['serviceAccountName', 'serviceAccount'] as const).map((field) => ({
  rule: `!has(self.${field}) || self.${field} == '${RETRAIN_SERVICE_ACCOUNT}'`,
  message: `${field} of a retraining pod must be absent or ${RETRAIN_SERVICE_ACCOUNT}`,
  fieldPath: `.${field}`,
  reason: 'FieldValueForbidden' as const,
  holds: (p: Partial<Record<typeof field, string>>) => p[field] === undefined || p[field] === RETRAIN_SERVICE_ACCOUNT,
}));

/**
 * The retraining Job's pod spec under the restricted profile of docs/security.md: creating a
 * ModelDeployment must grant nothing that creating a Job in its namespace would not, yet the
 * operator's identity creates this Job. operator/resources/retrainJob.ts checks it again.
 */
const retrainPodSpec = withRules(
  z
    .object({
      serviceAccountName: z.string().optional().describe(`Absent (the namespace's default account, no token mounted) or ${RETRAIN_SERVICE_ACCOUNT}.`),
      serviceAccount: z.string().optional().describe(`Deprecated alias of serviceAccountName: absent or ${RETRAIN_SERVICE_ACCOUNT}.`),
      automountServiceAccountToken: z.boolean().optional().describe('Defaults to false when no serviceAccountName is set.'),
      hostNetwork: z.boolean().optional().describe('Must not be true.'),
      hostPID: z.boolean().optional().describe('Must not be true.'),
      hostIPC: z.boolean().optional().describe('Must not be true.'),
      volumes: z
        .array(
          z
            .object({ hostPath: z.record(z.string(), z.unknown()).meta(PRESERVE).optional().describe('Not allowed.') })
            .loose()
            .meta(PRESERVE)
            .describe('A volume (Kubernetes Volume); any source but hostPath.'),
        )
        .max(256)
        .optional()
        .describe("The pod's volumes."),
      containers: z.array(retrainContainer).max(32).optional().describe("The pod's containers."),
      initContainers: z.array(retrainContainer).max(32).optional().describe("The pod's init containers."),
      ephemeralContainers: z.array(retrainContainer).max(32).optional().describe("The pod's ephemeral containers."),
    })
    .loose()
    .meta(PRESERVE)
    .describe("The retraining pod's spec (Kubernetes PodSpec); the fields shown are restricted, the rest pass through."),
  ...serviceAccountRules,
  ...hostNamespaceRules,
  {
    rule: '!has(self.volumes) || self.volumes.all(v, !has(v.hostPath))',
    message: 'a retraining pod may not mount hostPath volumes',
    fieldPath: '.volumes',
    reason: 'FieldValueForbidden',
    holds: (p) => !(p.volumes ?? []).some((v) => v.hostPath !== undefined),
  },
);

/** spec.monitoring.retraining.jobTemplate: a batch/v1 JobSpec, its pod spec restricted. */
const retrainJobTemplate = z
  .object({ template: z.object({ spec: retrainPodSpec.optional() }).loose().meta(PRESERVE).optional().describe("The Job's pod template.") })
  .loose()
  .meta(PRESERVE)
  .describe(
    `A batch/v1 JobSpec started to retrain. Its pod runs as ServiceAccount ${RETRAIN_SERVICE_ACCOUNT} (or, if unset, the namespace default without a token) and may not be privileged, escalate, add capabilities, use host namespaces or mount hostPath volumes.`,
  );

/** spec.monitoring */
export const monitoringSpec = withRules(
  z
    .object({
      // A base URL only: credentials would be echoed in status, and fetch drops what follows "#".
      prometheusURL: z
        .string()
        .regex(/^https?:\/\/[^\s/?#@]+(\/[^\s?#]*)?$/)
        .optional()
        .describe("Prometheus address (a base URL: no credentials, query or fragment); defaults to the operator's configured one, and must be that or one of the addresses the operator allows."),
      drift: z
        .object({
          threshold: z.number().gt(0).max(10).default(0.2).describe('Feature PSI above which the stable revision counts as drifted.'),
          windowSeconds: z.number().int().min(10).max(604800).default(3600).describe('Window rates and accuracy are measured over.'),
          action: z.enum(['Alert', 'Rollback', 'Retrain']).default('Alert').describe('What a breach on the stable revision triggers (any kind: drift, bad input, accuracy, errors).'),
          intervalSeconds: z.number().int().min(5).max(3600).default(30).describe('How often the stable revision is measured.'),
          cooldownSeconds: z.number().int().min(10).max(2592000).default(3600).describe('Least time between two Alert or Rollback actions (Retrain uses retraining.cooldownSeconds).'),
          maxBadInputRatio: z.number().min(0).max(1).optional().describe('Breach when the share of rejected inputs is above this (bad input data).'),
          minAccuracy: z.number().min(0).max(1).optional().describe('Breach when live accuracy from ground-truth feedback falls below this (accuracy decay).'),
          minLabels: z.number().int().min(1).max(1000000).default(100).describe('Fewest labelled predictions in the window for an accuracy verdict.'),
          maxErrorRate: z.number().min(0).max(1).optional().describe('Breach when the share of 5xx answers is above this (serving errors).'),
        })
        .optional()
        .describe('Health policy for the stable revision after promotion: data drift (feature PSI), bad input data, accuracy decay and serving errors.'),
      retraining: z
        .object({
          jobTemplate: retrainJobTemplate,
          cooldownSeconds: z.number().int().min(30).max(2592000).default(86400).describe('Least time between two retraining Jobs.'),
        })
        .optional()
        .describe('Retraining triggered by drift or accuracy decay.'),
    })
    .describe('Monitoring of the stable revision.'),
  {
    rule: "!has(self.drift) || self.drift.action != 'Retrain' || has(self.retraining)",
    message: 'drift action Retrain needs retraining.jobTemplate',
    fieldPath: '.retraining',
    reason: 'FieldValueRequired',
    holds: (m) => m.drift?.action !== 'Retrain' || m.retraining !== undefined,
  },
);

/** spec */
export const modelDeploymentSpec = withRules(
  z
    .object({
      model: modelSpec,
      modelCard: modelCardSpec.optional(),
      serving: servingSpec.default({ workers: 1, intraOpThreads: 1, payloadLogSampleRate: 0 }),
      replicas: z.number().int().min(0).max(1000).default(1).describe('Replicas of the stable revision when autoscaling is off (the scale subresource).'),
      autoscaling: autoscalingSpec.optional(),
      rollout: rolloutSpec.default({
        steps: [{ setWeight: 20 }, { pause: { durationSeconds: 60 } }, { setWeight: 50 }, { pause: { durationSeconds: 60 } }],
        trafficRouting: { type: 'ReplicaRatio' },
        schemaCheck: 'Strict',
        progressDeadlineSeconds: 600,
      }),
      monitoring: monitoringSpec.optional(),
    })
    .describe('Desired state of a served model and how its new versions roll out.'),
  {
    // The serving pod exports siskin_feature_psi only when it has a profile to compare with.
    rule: "!has(self.rollout) || !has(self.rollout.analysis) || !self.rollout.analysis.metrics.exists(m, m.kind == 'FeatureDrift') || has(self.model.referenceProfile)",
    message: 'a FeatureDrift metric needs model.referenceProfile: feature PSI is measured against it',
    fieldPath: '.model.referenceProfile',
    reason: 'FieldValueRequired',
    holds: (s) => !s.rollout.analysis?.metrics.some((m) => m.kind === 'FeatureDrift') || s.model.referenceProfile !== undefined,
  },
  {
    // drift.threshold (always set: it has a default) is judged only against a profile; with
    // no profile and no other bound, every health check is Inconclusive.
    rule:
      '!has(self.monitoring) || !has(self.monitoring.drift) || has(self.model.referenceProfile) || ' +
      'has(self.monitoring.drift.maxBadInputRatio) || has(self.monitoring.drift.minAccuracy) || has(self.monitoring.drift.maxErrorRate)',
    message:
      'monitoring.drift judges nothing without model.referenceProfile: its threshold is a PSI against the profile; set the profile, or maxBadInputRatio, minAccuracy or maxErrorRate',
    fieldPath: '.model.referenceProfile',
    reason: 'FieldValueRequired',
    holds: (s) => {
      const d = s.monitoring?.drift;
      return d === undefined || s.model.referenceProfile !== undefined || [d.maxBadInputRatio, d.minAccuracy, d.maxErrorRate].some((b) => b !== undefined);
    },
  },
);

/** A condition, kstatus-compatible. */
export const conditionSchema = z.object({
  type: z.string().min(1).max(316).describe('Condition type: Ready, Reconciling, Stalled, Progressing, Degraded, DriftDetected, …'),
  status: z.enum(['True', 'False', 'Unknown']).describe('True, False or Unknown.'),
  reason: z.string().max(1024).describe('CamelCase machine-readable reason.'),
  message: z.string().max(32768).describe('Human-readable detail.'),
  lastTransitionTime: z.string().datetime({ offset: true }).describe('When the status last changed.'),
  observedGeneration: z.number().int().min(0).optional().describe('The generation this condition was computed for.'),
});

/** One tensor of a model signature. */
const tensorSpec = z.object({
  name: z.string().describe('Tensor name.'),
  datatype: z.string().describe('Open Inference Protocol datatype, e.g. FP32.'),
  shape: z.array(z.number().int()).describe('Dimensions; -1 where dynamic.'),
});

/** A revision as recorded in status. */
export const revisionStatus = z.object({
  name: z.string().describe('Revision id: a hash of the model and serving configuration.'),
  version: z.string().describe('The model version label.'),
  uri: z.string().describe('The model URI.'),
  sha256: z.string().optional().describe('The verified digest.'),
  signature: z
    .object({
      inputs: z.array(tensorSpec).optional().describe('Input tensors.'),
      outputs: z.array(tensorSpec).optional().describe('Output tensors.'),
    })
    .optional()
    .describe("The model's input/output signature, read from its serving pod."),
});

/** One analysis measurement as recorded in status. */
export const measurementStatus = z.object({
  metric: z.string().describe('The metric name.'),
  value: z.number().optional().describe('The canary value (absent when inconclusive).'),
  stableValue: z.number().optional().describe('The stable value over the same window, for relative bounds.'),
  bound: z.string().describe('The bound it was judged against, e.g. "<= 1.2 x stable".'),
  verdict: z.enum(['Pass', 'Fail', 'Inconclusive']).describe('The verdict.'),
  reason: z.string().optional().describe('Why, when not a plain pass.'),
  time: z.string().datetime({ offset: true }).describe('When it was measured.'),
});

/** Where a rollout stands; the conditions say the same for people and kstatus. */
export const ROLLOUT_STATES = ['Stable', 'Progressing', 'Paused', 'Frozen', 'RolledBack'] as const;

/** The rollout state in status. RolledBack keeps the canary out until a retry or a new spec. */
export const rolloutStatus = z.object({
  state: z
    .enum(ROLLOUT_STATES)
    .describe(
      'Stable: no rollout runs. Progressing: a canary is being rolled out. Paused: by a user or by inconclusive analysis. Frozen: a freeze window holds the rollout or keeps a new revision waiting. RolledBack: the canary was taken out (analysis, schema gate, deadline, abort or drift) and stays out until a retry or a new spec.',
    ),
  reason: z.string().max(128).describe('Why, as a CamelCase reason (the Progressing or Stalled condition carries the same).'),
  message: z.string().max(4096).describe('What happened, for people.'),
});

/** Where a model that may scale to zero stands. */
export const ACTIVATION_STATES = ['Active', 'ScaledToZero', 'Waking'] as const;

/** status */
export const modelDeploymentStatus = z.object({
  observedGeneration: z.number().int().min(0).optional().describe('The spec generation this status describes.'),
  phase: z
    .enum(['Pending', 'Progressing', 'Paused', 'Healthy', 'ScaledToZero', 'Degraded', 'RolledBack', 'Failed'])
    .optional()
    .describe('A summary derived from the conditions; never a lock. ScaledToZero: healthy, idle, no pods; the first request wakes it.'),
  conditions: z
    .array(conditionSchema)
    .max(32)
    .optional()
    .describe('Current conditions.')
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] }),
  stable: revisionStatus.optional().describe('The revision serving production traffic.'),
  canary: revisionStatus.optional().describe('The revision being rolled out.'),
  previous: revisionStatus.optional().describe('The stable revision before the last promotion; its Deployment is kept at zero replicas for a drift rollback.'),
  rollout: rolloutStatus.optional().describe('Where the rollout stands, as data: the operator reads a rolled-back canary back from here.'),
  canaryWeight: z.number().int().min(0).max(100).optional().describe('Percentage of traffic on the canary.'),
  currentStepIndex: z.number().int().min(0).optional().describe('Index of the rollout step in progress.'),
  headerRoutes: z.array(z.string().max(63)).max(32).optional().describe('Names of the header routes in place on the HTTPRoute (setHeaderRoute steps); absent: none.'),
  stepStartedAt: z.string().datetime({ offset: true }).optional().describe('When the current step started.'),
  rolloutStartedAt: z.string().datetime({ offset: true }).optional().describe('When the rollout of the canary began.'),
  lastCommand: z
    .string()
    .max(256)
    .optional()
    .describe('The last siskin.dev/command annotation value acted on; a command runs once per distinct value.'),
  analysis: z
    .object({
      failures: z.number().int().min(0).describe('Failed measurements in this rollout.'),
      inconclusive: z.number().int().min(0).describe('Inconclusive measurements in this rollout.'),
      consecutiveInconclusive: z.number().int().min(0).optional().describe('Inconclusive rounds in a row; a pass resets it.'),
      lastRoundAt: z.string().datetime({ offset: true }).optional().describe('When the last round of measurements ran.'),
      lastVerdict: z.enum(['Pass', 'Fail', 'Inconclusive']).optional().describe('The verdict of the last round.'),
      measurements: z.array(measurementStatus).max(64).describe('The latest measurement of each metric.'),
    })
    .optional()
    .describe('The canary analysis so far.'),
  monitoring: z
    .object({
      lastCheckAt: z.string().datetime({ offset: true }).optional().describe('When the stable revision was last measured.'),
      lastActionAt: z.string().datetime({ offset: true }).optional().describe('When the breach action last fired.'),
      lastAction: z.string().optional().describe('The action that fired then (Alert, Rollback, Retrain).'),
      lastJob: z.string().optional().describe('The last retraining Job created.'),
      measurements: z.array(measurementStatus).max(16).optional().describe('The latest health measurements of the stable revision.'),
    })
    .optional()
    .describe('Health monitoring of the stable revision after promotion.'),
  autoscaling: z
    .object({
      desiredReplicas: z.number().int().min(0).describe('What the autoscaler decided.'),
      reason: z.string().describe('Why.'),
      lastCheckAt: z.string().datetime({ offset: true }).optional().describe('When the metrics were last read.'),
      recommendations: z
        .array(z.object({ at: z.string().datetime({ offset: true }).describe('When.'), replicas: z.number().int().min(0).describe('Recommended replicas.') }))
        .max(128)
        .describe('Recent raw recommendations, for the stabilization windows.'),
    })
    .optional()
    .describe('The built-in autoscaler state.'),
  activation: z
    .object({
      state: z
        .enum(ACTIVATION_STATES)
        .describe('Active: pods serve. ScaledToZero: idle, no pods; the Services point at the activator, which holds requests. Waking: a request (or a rollout) woke it; requests are held until a pod is ready.'),
      since: z.string().datetime({ offset: true }).describe('When it entered this state; an Active model is idle only after scaleToZeroAfterSeconds since then.'),
      reason: z.string().max(1024).describe('Why, for people.'),
      port: z.number().int().min(1).max(65535).optional().describe("The activator's port for this model (allocated once, kept across operator restarts)."),
    })
    .optional()
    .describe('Scale to zero (autoscaling.minReplicas 0): where the model stands.'),
  replicas: z.number().int().min(0).optional().describe('Total serving pods (scale subresource).'),
  readyReplicas: z.number().int().min(0).optional().describe('Ready serving pods.'),
  selector: z.string().optional().describe('Label selector of the serving pods (scale subresource).'),
  history: z
    .array(
      z.object({
        revision: z.string().describe('Revision id.'),
        version: z.string().describe('Model version.'),
        sha256: z.string().optional().describe('Model digest.'),
        outcome: z.enum(['Promoted', 'RolledBack', 'Aborted']).describe('How the rollout ended.'),
        reason: z.string().describe('Why.'),
        startedAt: z.string().datetime({ offset: true }).optional().describe('When the rollout began.'),
        finishedAt: z.string().datetime({ offset: true }).describe('When it ended.'),
        modelCard: z
          .object({
            owner: z.string().optional().describe('Model owner then.'),
            riskTier: z.string().optional().describe('Risk tier then.'),
            intendedUse: z.string().optional().describe('Intended use then.'),
          })
          .optional()
          .describe('Model-card snapshot at the time.'),
      }),
    )
    .max(20)
    .optional()
    .describe('The last rollouts, newest last.'),
});

/**
 * The longest ModelDeployment name whose derived names all hold: the Services `<name>-stable`
 * and `<name>-canary` are DNS-1035 labels (63), so 63 - "-canary".length. The label value
 * siskin.dev/model-deployment=<name> (63), the Deployments `<name>-<revision>` and ConfigMap
 * `<name>-routing` (253) and retrain Jobs (shortened to 63) all fit within it;
 * operator/resources/names.test.ts derives it from the builders.
 */
export const MAX_NAME_LENGTH = 56;

/** The whole object. */
export const modelDeploymentSchema = withRules(
  z.object({
    apiVersion: z.literal(`${GROUP}/${VERSION}`),
    kind: z.literal(KIND),
    metadata: z.object({ name: z.string(), namespace: z.string().optional() }).loose(),
    spec: modelDeploymentSpec,
    status: modelDeploymentStatus.optional(),
  }),
  {
    // Checked at admission: past it the operator's apply is refused for ever, with no status.
    rule: `self.metadata.name.size() <= ${MAX_NAME_LENGTH}`,
    message: `a ModelDeployment name may have at most ${MAX_NAME_LENGTH} characters: its Services are named <name>-stable and <name>-canary (63 at most)`,
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
    holds: (md) => md.metadata.name.length <= MAX_NAME_LENGTH,
  },
  {
    // Services are DNS-1035 labels (no dot, a letter first), and the name is the default
    // model name, which the serving runtime wants to end in a letter or digit.
    rule: "self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
    message: 'a ModelDeployment name must be a DNS-1035 label (lower-case letters, digits and "-", starting with a letter): it names the Services',
    fieldPath: '.metadata.name',
    reason: 'FieldValueInvalid',
    holds: (md) => /^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(md.metadata.name),
  },
);

/** A parsed ModelDeployment spec, defaults applied. */
export type ModelDeploymentSpec = z.output<typeof modelDeploymentSpec>;
/** A ModelDeployment status. */
export type ModelDeploymentStatus = z.output<typeof modelDeploymentStatus>;
/** The rollout state as stored in status. */
export type RolloutStatus = z.output<typeof rolloutStatus>;
/** A parsed ModelDeployment. */
export type ModelDeployment = z.output<typeof modelDeploymentSchema>;
