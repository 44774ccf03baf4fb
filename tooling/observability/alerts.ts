// Siskin's Prometheus alerting rules as data: the chart's PrometheusRule is generated from
// them (npm run gen:chart), and the test suites check and evaluate every expression.
//
// Two facts shape the expressions:
// - Operator series carry the ModelDeployment's `namespace` and `name`; the chart's
//   ServiceMonitor keeps them with honorLabels, or Prometheus would rename `namespace` to
//   `exported_namespace`. Only the leader reconciles (a replica that loses the lease exits),
//   so aggregating with max/sum by (namespace, name) drops the scrape labels, not data.
// - Serving series carry `model` and `revision` from the server; `namespace` comes from the
//   usual Kubernetes pod relabelling (see operator/analysis/queries.ts).
import { INFER_ROUTES } from '../../contract/http.ts';
import { SERVING_METRICS as M } from '../../contract/metrics.ts';

/** Severity label values, as Alertmanager routing trees usually expect them. */
export type Severity = 'critical' | 'warning';

/** One alerting rule and the runbook section that explains it. */
export interface AlertRule {
  /** The alert name, also the runbook heading. */
  alert: string;
  expr: string;
  /** How long the expression must hold before the alert fires. */
  for: string;
  severity: Severity;
  /** One line, with Prometheus template variables ($labels, $value). */
  summary: string;
  /** What is wrong and what it costs, with template variables. */
  description: string;
}

/** A rule group (one evaluation unit in Prometheus). */
export interface AlertGroup {
  name: string;
  rules: AlertRule[];
}

/** Where the runbooks live in the repository. */
export const RUNBOOK_FILE = 'docs/runbooks.md';

/** The default base of runbook_url annotations (the chart's prometheusRule.runbookBaseUrl). */
export const DEFAULT_RUNBOOK_BASE_URL = `https://github.com/siskin-dev/siskin/blob/main/${RUNBOOK_FILE}`;

/** Share of inference requests answered 5xx above which SiskinServingErrorRateHigh fires. */
export const SERVING_ERROR_RATIO_THRESHOLD = 0.05;

/** p99 inference latency in seconds above which SiskinServingLatencyHigh fires. */
export const SERVING_P99_LATENCY_THRESHOLD_SECONDS = 1;

/** Share of reconciles that fail above which SiskinReconcileErrors fires. */
export const RECONCILE_ERROR_RATIO_THRESHOLD = 0.1;

/** How long a canary may stay on one step while Progressing before SiskinCanaryStuck fires. */
export const CANARY_STUCK_WINDOW = '1h';

/** The activator's outcomes that refused a user's request (503), as opposed to the client's own doing. */
export const ACTIVATOR_FAILED_OUTCOMES = ['timed_out', 'rejected', 'failed'] as const;

/** The window over which a refused request at zero keeps SiskinScaleToZeroRequestsFailed firing. */
export const SCALE_TO_ZERO_FAILED_WINDOW = '10m';

/** A regex alternative matching exactly the given strings. */
function anyOf(values: readonly string[]): string {
  return values.map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
}

/** The label matcher of the inference routes, shared with the dashboard. */
export const INFER_ROUTE_MATCHER = `route=~"${anyOf(INFER_ROUTES)}"`;

const md = 'ModelDeployment {{ $labels.namespace }}/{{ $labels.name }}';
const served = 'model {{ $labels.model }} (revision {{ $labels.revision }}) in {{ $labels.namespace }}';
const perRevision = 'namespace, model, revision';

/** Every alert Siskin ships, by group. */
export const ALERT_GROUPS: readonly AlertGroup[] = [
  {
    name: 'siskin-operator',
    rules: [
      {
        alert: 'SiskinReconcileErrors',
        // A ratio, not a bare rate: conflicts on a busy cluster produce some errors that the
        // retry absorbs; a large share means the operator cannot converge.
        expr: [
          'sum by (controller) (rate(siskin_reconcile_errors_total[5m]))',
          '/',
          'sum by (controller) (rate(siskin_reconcile_total[5m]))',
          `> ${RECONCILE_ERROR_RATIO_THRESHOLD}`,
        ].join('\n'),
        for: '15m',
        severity: 'warning',
        summary: 'Siskin controller {{ $labels.controller }}: {{ $value | humanizePercentage }} of reconciles fail',
        description:
          'More than 10% of reconciles of the {{ $labels.controller }} controller have failed for 15 minutes. ' +
          'Rollouts, rollbacks and scaling of affected ModelDeployments are delayed until reconciles succeed again.',
      },
    ],
  },
  {
    name: 'siskin-rollouts',
    rules: [
      {
        alert: 'SiskinRolloutFailed',
        // The counter misses a series' first increment (increase() needs two samples of it),
        // so the phase gauge, which is 1 from the first reconcile after the rollback, backs it up.
        expr: [
          '(sum by (namespace, name) (increase(siskin_rollouts_total{outcome="RolledBack"}[30m])) > 0)',
          'or',
          '(max by (namespace, name) (siskin_modeldeployment_phase{phase=~"RolledBack|Failed"}) == 1)',
        ].join('\n'),
        for: '0m',
        severity: 'warning',
        summary: `${md}: a canary rollout failed or was rolled back`,
        description:
          `The canary of ${md} was rolled back or the rollout failed. The stable revision keeps serving; ` +
          'the new model version is not live. `kubectl describe md` names the failed check, its value and its bound.',
      },
      {
        alert: 'SiskinCanaryStuck',
        // Timed pause steps also read Progressing, hence a window longer than typical pauses.
        expr: [
          '(max by (namespace, name) (siskin_modeldeployment_phase{phase="Progressing"}) == 1)',
          'and',
          `(max by (namespace, name) (changes(siskin_modeldeployment_rollout_step[${CANARY_STUCK_WINDOW}])) == 0)`,
        ].join('\n'),
        for: '30m',
        severity: 'warning',
        summary: `${md}: canary stuck on one rollout step`,
        description:
          `The rollout of ${md} has been Progressing without moving to another step for over 1h30m. ` +
          'The canary keeps its current share of traffic and the new version is neither promoted nor rolled back.',
      },
      {
        alert: 'SiskinDriftDetected',
        expr: 'max by (namespace, name, kind) (siskin_drift_detected) == 1',
        for: '5m',
        severity: 'warning',
        summary: `${md}: the stable model breaches its health policy ({{ $labels.kind }})`,
        description:
          `The stable revision of ${md} breaches its monitoring policy: {{ $labels.kind }}. ` +
          'The configured action (Alert, Rollback or Retrain) fires once per cooldown; predictions may be degraded.',
      },
    ],
  },
  {
    name: 'siskin-serving',
    rules: [
      {
        alert: 'SiskinServingErrorRateHigh',
        expr: [
          `sum by (${perRevision}) (rate(${M.requests.name}{${INFER_ROUTE_MATCHER},code=~"5.."}[5m]))`,
          '/',
          `sum by (${perRevision}) (rate(${M.requests.name}{${INFER_ROUTE_MATCHER}}[5m]))`,
          `> ${SERVING_ERROR_RATIO_THRESHOLD}`,
        ].join('\n'),
        for: '10m',
        severity: 'critical',
        summary: `Serving ${served}: {{ $value | humanizePercentage }} of inference requests fail`,
        description: `More than 5% of inference requests to ${served} have been answered with a 5xx status for 10 minutes. Callers see errors.`,
      },
      {
        alert: 'SiskinScaleToZeroRequestsFailed',
        // increase() over a window, not a ratio: a model at zero takes few requests, and
        // every one the activator could not hand to a pod is a user's request refused.
        // too_large (413) and cancelled are the client's doing, so they are left out.
        expr: [
          `sum by (namespace, name) (increase(siskin_activator_requests_total{outcome=~"${ACTIVATOR_FAILED_OUTCOMES.join('|')}"}[${SCALE_TO_ZERO_FAILED_WINDOW}]))`,
          '> 0',
        ].join('\n'),
        for: '0m',
        severity: 'warning',
        summary: `${md}: {{ $value | humanize }} requests to the model at zero were refused in ${SCALE_TO_ZERO_FAILED_WINDOW}`,
        description:
          `The activator answered requests for ${md} with 503 in the last ${SCALE_TO_ZERO_FAILED_WINDOW} instead of handing them to a pod: ` +
          'no pod became Ready within the hold timeout, more requests waited than the activator holds, or no pod answered. Callers saw errors while the model woke up.',
      },
      {
        alert: 'SiskinServingLatencyHigh',
        expr: [
          `histogram_quantile(0.99, sum by (${perRevision}, le) (rate(${M.requestDuration.name}_bucket{${INFER_ROUTE_MATCHER}}[5m])))`,
          `> ${SERVING_P99_LATENCY_THRESHOLD_SECONDS}`,
        ].join('\n'),
        for: '10m',
        severity: 'warning',
        summary: `Serving ${served}: p99 inference latency is {{ $value | humanizeDuration }}`,
        description: `The 99th percentile of inference latency of ${served} has been above 1s for 10 minutes. Callers may time out.`,
      },
    ],
  },
];

/** The anchor of an alert's runbook section (GitHub's anchor of a `## Name` heading). */
export function runbookAnchor(alert: string): string {
  return alert.toLowerCase();
}

/** A rule in Prometheus' rule-file shape (the spec of a PrometheusRule). */
export interface PrometheusAlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** The rule groups in Prometheus' rule-file shape, with runbook URLs under runbookBaseUrl. */
export function prometheusRuleGroups(runbookBaseUrl: string = DEFAULT_RUNBOOK_BASE_URL): { name: string; rules: PrometheusAlertingRule[] }[] {
  return ALERT_GROUPS.map((g) => ({
    name: g.name,
    rules: g.rules.map((r) => ({
      alert: r.alert,
      expr: r.expr,
      for: r.for,
      labels: { severity: r.severity },
      annotations: { summary: r.summary, description: r.description, runbook_url: `${runbookBaseUrl}#${runbookAnchor(r.alert)}` },
    })),
  }));
}

/** One PromQL expression and where it comes from. */
export interface QuerySource {
  /** e.g. `alert SiskinDriftDetected` or `dashboard panel "Error rate" (A)`. */
  origin: string;
  expr: string;
}

/** Every alert expression, for promtool and the end-to-end evaluation. */
export function alertQueries(): QuerySource[] {
  return ALERT_GROUPS.flatMap((g) => g.rules.map((r) => ({ origin: `alert ${r.alert}`, expr: r.expr })));
}
