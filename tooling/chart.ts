// Renders the generated files of the Helm chart: the CRD, the operator's RBAC rules, the
// aggregated ClusterRoles for people, the PrometheusRule and the Grafana dashboard, each from its
// one TypeScript source. gen-chart.ts writes them; the chart tests fail when a committed file
// differs from what this renders.
import YAML from 'yaml';
import { GENERATED_HEADER, renderCrdYaml } from './crd.ts';
import { aggregationLabel, LEADER_ELECTION_RULES, OPERATOR_RULES, USER_ROLES } from '../operator/api/rbac.ts';
import { ALERT_GROUPS, runbookAnchor } from './observability/alerts.ts';
import { DASHBOARD_FILE, renderDashboardJson } from './observability/dashboard.ts';

/** The chart's directory, relative to the repository root. */
export const CHART_DIR = 'charts/siskin';

const DO_NOT_EDIT = 'by `npm run gen:chart` — do not edit.';

/** Text that a Helm template prints literally: Prometheus' own {{ $labels.x }} must survive rendering. */
export function escapeForHelm(text: string): string {
  return text.replace(/\{\{|\}\}/g, (braces) => `{{ "${braces}" }}`);
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line === '' ? line : pad + line))
    .join('\n');
}

/** The CRD for the chart's crds/ (Helm installs it before the templates and never deletes it). */
function renderChartCrd(): string {
  return `# Generated from operator/api/schema.ts ${DO_NOT_EDIT}\n${renderCrdYaml().slice(GENERATED_HEADER.length)}`;
}

/** Named templates with the operator's rules, and the Lease rules for the Role in the release namespace. */
function renderRulesTemplate(): string {
  const define = (name: string, rules: unknown): string => `{{- define "${name}" -}}\n${YAML.stringify(rules).trimEnd()}\n{{- end }}\n`;
  return [
    `{{- /* Generated from operator/api/rbac.ts ${DO_NOT_EDIT} */ -}}`,
    '',
    '{{- /* The operator\'s rules (OPERATOR_RULES). */ -}}',
    define('siskin.operatorRules', OPERATOR_RULES),
    '{{- /* The leader-election rules (LEADER_ELECTION_RULES): a Role in the release namespace, in every mode. */ -}}',
    define('siskin.leaderElectionRules', LEADER_ELECTION_RULES),
  ].join('\n');
}

/**
 * The aggregated ClusterRoles for people (USER_ROLES), named after the release as Argo Rollouts
 * names its own (<fullname>-aggregate-to-view, …) so two releases never collide. Only with
 * cluster-wide RBAC: watchNamespace mode promises nothing cluster-scoped.
 */
function renderAggregateRolesTemplate(): string {
  const out: string[] = [
    `{{- /* Generated from operator/api/rbac.ts ${DO_NOT_EDIT} */ -}}`,
    '{{- if and .Values.rbac.create .Values.rbac.aggregatedRoles (not .Values.watchNamespace) }}',
  ];
  for (const [i, role] of USER_ROLES.entries()) {
    if (i > 0) out.push('---');
    out.push(
      'apiVersion: rbac.authorization.k8s.io/v1',
      'kind: ClusterRole',
      'metadata:',
      `  name: {{ include "siskin.fullname" . }}-aggregate-to-${role.aggregateTo}`,
      '  labels:',
      '    {{- include "siskin.labels" . | nindent 4 }}',
      `    ${aggregationLabel(role.aggregateTo)}: "true"`,
      'rules:',
      indent(YAML.stringify(role.rules).trimEnd(), 2),
    );
  }
  out.push('{{- end }}', '');
  return out.join('\n');
}

/** The PrometheusRule template: every alert of alerts.ts, each switchable by prometheusRule.disabledAlerts. */
function renderPrometheusRuleTemplate(): string {
  const out: string[] = [
    `{{- /* Generated from tooling/observability/alerts.ts ${DO_NOT_EDIT} */ -}}`,
    '{{- if .Values.prometheusRule.enabled }}',
    '{{- $disabled := .Values.prometheusRule.disabledAlerts }}',
    'apiVersion: monitoring.coreos.com/v1',
    'kind: PrometheusRule',
    'metadata:',
    '  name: {{ include "siskin.fullname" . }}',
    '  namespace: {{ .Release.Namespace }}',
    '  labels:',
    '    {{- include "siskin.labels" . | nindent 4 }}',
    '    {{- with .Values.prometheusRule.labels }}',
    '    {{- toYaml . | nindent 4 }}',
    '    {{- end }}',
    'spec:',
    '  groups:',
  ];
  const enabled = (alert: string): string => `(not (has "${alert}" $disabled))`;
  for (const group of ALERT_GROUPS) {
    out.push(`{{- if or ${group.rules.map((r) => enabled(r.alert)).join(' ')} }}`);
    out.push(`    - name: ${group.name}`, '      rules:');
    for (const r of group.rules) {
      out.push(`{{- if ${enabled(r.alert)} }}`);
      out.push(`        - alert: ${r.alert}`);
      out.push('          expr: |-', indent(escapeForHelm(r.expr), 12));
      out.push(`          for: ${r.for}`);
      // The extra labels win over the default severity, so a user can re-route an alert.
      out.push('          labels:', `            {{- merge (dict) $.Values.prometheusRule.additionalAlertLabels (dict "severity" "${r.severity}") | toYaml | nindent 12 }}`);
      out.push('          annotations:');
      out.push(`            summary: ${escapeForHelm(JSON.stringify(r.summary))}`);
      out.push(`            description: ${escapeForHelm(JSON.stringify(r.description))}`);
      out.push(`            runbook_url: {{ printf "%s#%s" $.Values.prometheusRule.runbookBaseUrl "${runbookAnchor(r.alert)}" | quote }}`);
      out.push('{{- end }}');
    }
    out.push('{{- end }}');
  }
  out.push('{{- end }}', '');
  return out.join('\n');
}

/** Every generated file of the chart: path relative to the repository root → content. Pure. */
export function renderChartFiles(): Record<string, string> {
  return {
    [`${CHART_DIR}/crds/siskin.dev_modeldeployments.yaml`]: renderChartCrd(),
    [`${CHART_DIR}/templates/_rules.tpl`]: renderRulesTemplate(),
    [`${CHART_DIR}/templates/aggregate-roles.yaml`]: renderAggregateRolesTemplate(),
    [`${CHART_DIR}/templates/prometheusrule.yaml`]: renderPrometheusRuleTemplate(),
    [`${CHART_DIR}/dashboards/${DASHBOARD_FILE}`]: renderDashboardJson(),
  };
}
