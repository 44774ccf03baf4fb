// The Grafana dashboard of one model, built with Grafana's foundation SDK (typed builders,
// so a misspelt option fails tsc rather than rendering an empty panel). The chart ships the
// JSON (npm run gen:chart) in a ConfigMap that Grafana's dashboard sidecar picks up.
//
// Variables: datasource, namespace and model. `model` is the ModelDeployment name: operator
// series match it as `name`, serving series as `model` (the served name, which is the same
// unless spec.model.name overrides it).
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { SERVING_METRICS as M } from '../../contract/metrics.ts';
import { INFER_ROUTE_MATCHER, type QuerySource } from './alerts.ts';

/** The dashboard's uid: stable, so links and provisioning survive regeneration. */
export const DASHBOARD_UID = 'siskin-model';

/** The file name of the dashboard JSON in the chart (and the ConfigMap key). */
export const DASHBOARD_FILE = 'siskin-model.json';

const ds: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

// Selectors of the two metric families (see the header for why the label names differ).
const op = 'namespace="$namespace", name="$model"';
const srv = 'namespace="$namespace", model="$model"';
const infer = `${srv}, ${INFER_ROUTE_MATCHER}`;

/** One query of a panel. */
interface Target {
  expr: string;
  legend: string;
}

function queries(targets: Target[]): DataqueryBuilder[] {
  return targets.map((t, i) =>
    new DataqueryBuilder()
      .datasource(ds)
      .expr(t.expr)
      .legendFormat(t.legend)
      .refId(String.fromCharCode(65 + i)),
  );
}

function graph(title: string, description: string, unit: string, targets: Target[]): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .description(description)
    .datasource(ds)
    .unit(unit)
    .span(12)
    .height(8)
    .lineWidth(1)
    .fillOpacity(10)
    .legend(new common.VizLegendOptionsBuilder().displayMode(common.LegendDisplayMode.Table).placement(common.LegendPlacement.Bottom).showLegend(true).calcs(['lastNotNull', 'max']))
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .targets(queries(targets));
}

function latencyTarget(q: number): Target {
  return {
    expr: `histogram_quantile(${q}, sum by (revision, le) (rate(${M.requestDuration.name}_bucket{${infer}}[$__rate_interval])))`,
    legend: `p${Math.round(q * 100)} {{revision}}`,
  };
}

const phaseNow: Target = { expr: `max by (phase) (siskin_modeldeployment_phase{${op}}) == 1`, legend: '{{phase}}' };

/** The dashboard model (Grafana's JSON), deterministic. */
export function modelDashboard(): dashboard.Dashboard {
  const namespaceVar = new dashboard.QueryVariableBuilder('namespace')
    .label('Namespace')
    .datasource(ds)
    .query('label_values(siskin_modeldeployment_phase, namespace)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);
  const modelVar = new dashboard.QueryVariableBuilder('model')
    .label('ModelDeployment')
    .datasource(ds)
    .query('label_values(siskin_modeldeployment_phase{namespace="$namespace"}, name)')
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc);

  const built = new dashboard.DashboardBuilder('Siskin / Model')
    .uid(DASHBOARD_UID)
    .description('One ModelDeployment: traffic, quality, drift and rollouts. Generated from tooling/observability/dashboard.ts by `npm run gen:chart` — do not edit.')
    .tags(['siskin'])
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-6h', to: 'now' })
    .refresh('30s')
    .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'))
    .withVariable(namespaceVar)
    .withVariable(modelVar)

    .withRow(new dashboard.RowBuilder('Rollout'))
    .withPanel(
      new stat.PanelBuilder()
        .title('Phase')
        .description('The derived phase of the ModelDeployment (kubectl get md shows the same).')
        .datasource(ds)
        .span(4)
        .height(6)
        .textMode(common.BigValueTextMode.Name)
        .graphMode(common.BigValueGraphMode.None)
        .colorMode(common.BigValueColorMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .targets(queries([phaseNow])),
    )
    .withPanel(
      new statetimeline.PanelBuilder()
        .title('Phase history')
        .description('When the ModelDeployment was in which phase.')
        .datasource(ds)
        .span(8)
        .height(6)
        .showValue(common.VisibilityMode.Never)
        .mergeValues(true)
        .targets(queries([phaseNow])),
    )
    .withPanel(
      graph('Canary weight & step', 'Share of traffic on the canary (left) and the index of the rollout step in progress (right; -1 without a rollout).', 'percent', [
        { expr: `max(siskin_modeldeployment_canary_weight_percent{${op}})`, legend: 'canary weight' },
        { expr: `max(siskin_modeldeployment_rollout_step{${op}})`, legend: 'step' },
      ])
        .lineInterpolation(common.LineInterpolation.StepAfter)
        .overrideByName('step', [
          { id: 'unit', value: 'none' },
          { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
          { id: 'decimals', value: 0 },
        ]),
    )
    .withPanel(
      graph('Analysis measurements', 'Latest analysis value of each metric: the canary during a rollout, the stable revision under health monitoring.', 'short', [
        { expr: `max by (metric, revision_role) (siskin_analysis_measurement_value{${op}})`, legend: '{{metric}} ({{revision_role}})' },
      ]).lineInterpolation(common.LineInterpolation.StepAfter),
    )
    .withPanel(
      graph('Analysis rounds', 'Canary analysis rounds by verdict.', 'short', [
        { expr: `sum by (verdict) (increase(siskin_analysis_rounds_total{${op}}[$__rate_interval]))`, legend: '{{verdict}}' },
      ])
        .drawStyle(common.GraphDrawStyle.Bars)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      graph('Rollout history', 'Rollouts finished per interval, by outcome (Promoted, RolledBack, Aborted).', 'short', [
        { expr: `sum by (outcome) (increase(siskin_rollouts_total{${op}}[$__rate_interval]))`, legend: '{{outcome}}' },
      ])
        .drawStyle(common.GraphDrawStyle.Bars)
        .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      new stat.PanelBuilder()
        .title('Rollouts in range')
        .description('Rollouts finished in the selected time range, by outcome.')
        .datasource(ds)
        .span(12)
        .height(8)
        .textMode(common.BigValueTextMode.ValueAndName)
        .graphMode(common.BigValueGraphMode.None)
        .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
        .targets(queries([{ expr: `round(sum by (outcome) (increase(siskin_rollouts_total{${op}}[$__range])))`, legend: '{{outcome}}' }])),
    )

    .withRow(new dashboard.RowBuilder('Traffic'))
    .withPanel(
      graph('Traffic split', 'Inference requests per second by revision: the canary share as the servers see it.', 'reqps', [
        { expr: `sum by (revision) (rate(${M.requests.name}{${infer}}[$__rate_interval]))`, legend: '{{revision}}' },
      ]).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)),
    )
    .withPanel(
      graph('Latency', 'Inference latency quantiles by revision (p50, p90, p99).', 's', [latencyTarget(0.5), latencyTarget(0.9), latencyTarget(0.99)]),
    )
    .withPanel(
      graph('Error rate', 'Share of inference requests answered 5xx (server errors, overload) and 4xx (bad input), by revision.', 'percentunit', [
        {
          expr: `sum by (revision) (rate(${M.requests.name}{${infer}, code=~"5.."}[$__rate_interval])) / sum by (revision) (rate(${M.requests.name}{${infer}}[$__rate_interval]))`,
          legend: '5xx {{revision}}',
        },
        {
          expr: `sum by (revision) (rate(${M.requests.name}{${infer}, code=~"4.."}[$__rate_interval])) / sum by (revision) (rate(${M.requests.name}{${infer}}[$__rate_interval]))`,
          legend: '4xx {{revision}}',
        },
      ]),
    )
    .withPanel(
      graph('Replicas', "The built-in autoscaler's desired replicas, the ready serving pods, and ready pods by revision.", 'short', [
        { expr: `max(siskin_autoscaler_desired_replicas{${op}})`, legend: 'desired (autoscaler)' },
        { expr: `max(siskin_modeldeployment_ready_replicas{${op}})`, legend: 'ready' },
        { expr: `sum by (revision) (${M.modelReady.name}{${srv}})`, legend: 'ready {{revision}}' },
      ]).lineInterpolation(common.LineInterpolation.StepAfter),
    )

    .withPanel(
      graph(
        'Scale to zero',
        'Requests that reached the activator while the model was at zero or waking, by outcome (forwarded once a pod was Ready; timed_out, rejected and failed were answered 503), the requests held now, and the cold start held requests saw (p50, p99). Empty unless autoscaling.minReplicas is 0.',
        'short',
        [
          { expr: `sum by (outcome) (increase(siskin_activator_requests_total{${op}}[$__rate_interval]))`, legend: '{{outcome}}' },
          { expr: `max(siskin_activator_held_requests{${op}})`, legend: 'held now' },
          { expr: `histogram_quantile(0.5, sum by (le) (rate(siskin_activator_hold_duration_seconds_bucket{${op}}[$__rate_interval])))`, legend: 'cold start p50' },
          { expr: `histogram_quantile(0.99, sum by (le) (rate(siskin_activator_hold_duration_seconds_bucket{${op}}[$__rate_interval])))`, legend: 'cold start p99' },
        ],
      ).overrideByRegexp('^cold start', [
        { id: 'unit', value: 's' },
        { id: 'custom.axisPlacement', value: common.AxisPlacement.Right },
      ]),
    )

    .withRow(new dashboard.RowBuilder('Drift'))
    .withPanel(
      graph('Feature drift (PSI)', 'Population stability index of each input feature against the reference profile, by revision. Above 0.1: moderate shift; above 0.25: significant.', 'short', [
        { expr: `max by (feature, revision) (${M.featurePsi.name}{${srv}})`, legend: '{{feature}} ({{revision}})' },
      ])
        .thresholds(
          new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
            { value: null, color: 'green' },
            { value: 0.1, color: 'orange' },
            { value: 0.25, color: 'red' },
          ]),
        )
        .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed)),
    )
    .withPanel(
      graph('Health policy breaches & actions', '1 while the stable revision breaches its health policy, by kind; the actions fired (Alert, Rollback, Retrain).', 'short', [
        { expr: `max by (kind) (siskin_drift_detected{${op}})`, legend: 'breach {{kind}}' },
        { expr: `sum by (action) (increase(siskin_drift_actions_total{${op}}[$__rate_interval]))`, legend: 'action {{action}}' },
      ]).lineInterpolation(common.LineInterpolation.StepAfter),
    )
    .build();
  // The builders leave panel ids unset (rows get 0); Grafana links and "view panel" need
  // unique, stable ones, so they follow the layout order.
  for (const [i, p] of (built.panels ?? []).entries()) p.id = i + 1;
  return built;
}

/** Values of the dashboard's variables and of Grafana's built-in interval variables. */
export interface DashboardVariables {
  namespace: string;
  model: string;
  /** $__rate_interval, e.g. "1m". */
  rateInterval: string;
  /** $__range, e.g. "1h". */
  range: string;
}

/** Grafana's variable syntaxes: $name, ${name} and ${name:format} (the format is dropped). */
const VARIABLE = /\$\{(\w+)(?::\w+)?\}|\$(\w+)/g;

/** Replaces Grafana variables in a query; throws on one it does not know, so none slips through. */
export function substituteVariables(expr: string, vars: DashboardVariables): string {
  const values: Record<string, string> = {
    namespace: vars.namespace,
    model: vars.model,
    __rate_interval: vars.rateInterval,
    __interval: vars.rateInterval,
    __range: vars.range,
  };
  return expr.replace(VARIABLE, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = values[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${whole} in: ${expr}`);
    return value;
  });
}

/** label_values(selector, label) → the selector: the PromQL part of a variable query. */
function variableSelector(query: string): string | undefined {
  const m = /^label_values\((.*),\s*\w+\)$/s.exec(query.trim());
  return m?.[1];
}

type AnyPanel = dashboard.Panel | dashboard.RowPanel;

function isRow(p: AnyPanel): p is dashboard.RowPanel {
  return p.type === 'row';
}

/** Every PromQL expression of the dashboard (panels and variable queries), with variables substituted. */
export function dashboardQueries(vars: DashboardVariables, model: dashboard.Dashboard = modelDashboard()): QuerySource[] {
  const out: QuerySource[] = [];
  for (const v of model.templating.list ?? []) {
    if (v.type !== dashboard.VariableType.Query || typeof v.query !== 'string') continue;
    const sel = variableSelector(v.query);
    if (sel === undefined) throw new Error(`variable ${v.name}: only label_values(selector, label) queries are supported, got ${v.query}`);
    out.push({ origin: `dashboard variable ${v.name}`, expr: substituteVariables(sel, vars) });
  }
  const panels = (model.panels ?? []).flatMap((p: AnyPanel) => (isRow(p) ? p.panels : [p]));
  for (const p of panels) {
    for (const t of (p.targets ?? []) as unknown as { expr?: string; refId?: string }[]) {
      if (t.expr === undefined) continue;
      out.push({ origin: `dashboard panel "${p.title ?? ''}" (${t.refId ?? '?'})`, expr: substituteVariables(t.expr, vars) });
    }
  }
  return out;
}

/** The dashboard as the chart ships it: pretty JSON, the "do not edit" description near the top. */
export function renderDashboardJson(): string {
  const { title, uid, description, ...rest } = modelDashboard();
  return `${JSON.stringify({ title, uid, description, ...rest }, null, 2)}\n`;
}
