// What SREs get from Siskin's alerts and dashboard, checked without Prometheus: every alert has
// a runbook, every panel is scoped to the selected model, and every query is exported concrete.
// (promtool parses each expression in test/integration/chart; the e2e suite evaluates them.)
import { describe, expect, test } from '@jest/globals';
import type { Panel } from '@grafana/grafana-foundation-sdk/dashboard';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ACTIVATOR_OUTCOMES } from '../../operator/activator/activator.ts';
import { ACTIVATOR_FAILED_OUTCOMES, ALERT_GROUPS, DEFAULT_RUNBOOK_BASE_URL, RUNBOOK_FILE, alertQueries, prometheusRuleGroups, runbookAnchor } from './alerts.ts';
import { DASHBOARD_UID, dashboardQueries, modelDashboard, substituteVariables } from './dashboard.ts';
import { DEFAULT_VARIABLES, allQueries } from './queries.ts';

const alerts = ALERT_GROUPS.flatMap((g) => g.rules);
const runbooks = readFileSync(fileURLToPath(new URL(`../../${RUNBOOK_FILE}`, import.meta.url)), 'utf8');

/** The runbook's sections: heading → body. */
function sections(markdown: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of markdown.split(/^## /m).slice(1)) {
    const [heading = '', ...body] = part.split('\n');
    out.set(heading.trim(), body.join('\n'));
  }
  return out;
}

describe('alerts', () => {
  test('names are unique and every rule has a severity, a duration, a summary and a description', () => {
    expect(new Set(alerts.map((a) => a.alert)).size).toBe(alerts.length);
    for (const a of alerts) {
      expect(a.alert).toMatch(/^Siskin[A-Z][A-Za-z]+$/);
      expect(a.for).toMatch(/^\d+[smh]$/);
      expect(['critical', 'warning']).toContain(a.severity);
      expect(a.summary.length).toBeGreaterThan(10);
      expect(a.description.length).toBeGreaterThan(20);
    }
  });

  test.each(['rollout failed or rolled back', 'canary stuck', 'drift detected', 'reconcile errors', 'serving error rate', 'serving latency', 'requests refused at zero'])(
    'one alert covers: %s',
    (what) => {
      const metric: Record<string, RegExp> = {
        'rollout failed or rolled back': /siskin_rollouts_total\{outcome="RolledBack"\}.*siskin_modeldeployment_phase\{phase=~"RolledBack\|Failed"\}/s,
        'canary stuck': /phase="Progressing".*changes\(siskin_modeldeployment_rollout_step/s,
        'drift detected': /siskin_drift_detected\) == 1/,
        'reconcile errors': /siskin_reconcile_errors_total/,
        'serving error rate': /siskin_requests_total\{route=~"[^"]*\/v2\/models\/:name\/infer[^"]*",code=~"5\.\."\}/,
        'serving latency': /histogram_quantile\(0\.99, .*siskin_request_duration_seconds_bucket/,
        'requests refused at zero': /siskin_activator_requests_total\{outcome=~"timed_out\|rejected\|failed"\}/,
      };
      expect(alerts.filter((a) => metric[what]!.test(a.expr))).toHaveLength(1);
    },
  );

  test('the outcomes counted as refused at zero are outcomes the activator writes, and none is the client\'s doing', () => {
    expect([...ACTIVATOR_OUTCOMES]).toEqual(expect.arrayContaining([...ACTIVATOR_FAILED_OUTCOMES]));
    expect(ACTIVATOR_FAILED_OUTCOMES).not.toContain('too_large');
    expect(ACTIVATOR_FAILED_OUTCOMES).not.toContain('cancelled');
  });

  test('every alert links to its runbook section, which says what it means, what to check and what to do', () => {
    const byHeading = sections(runbooks);
    for (const g of prometheusRuleGroups()) {
      for (const r of g.rules) {
        expect(r.annotations.runbook_url).toBe(`${DEFAULT_RUNBOOK_BASE_URL}#${runbookAnchor(r.alert)}`);
        const body = byHeading.get(r.alert);
        expect(body).toBeDefined();
        expect(body).toMatch(/\*\*Meaning\.\*\*/);
        expect(body).toMatch(/\*\*First checks\.\*\*/);
        expect(body).toMatch(/\*\*Actions\.\*\*/);
      }
    }
  });

  test('the runbook has no section for an alert that does not exist', () => {
    const alertHeadings = [...sections(runbooks).keys()].filter((h) => h.startsWith('Siskin'));
    expect(alertHeadings.sort()).toEqual(alerts.map((a) => a.alert).sort());
  });

  test('the runbook anchor is GitHub\'s anchor of the "## Name" heading', () => {
    expect(runbookAnchor('SiskinCanaryStuck')).toBe('siskincanarystuck');
  });

  test('per-model alerts keep the labels that name the model, so the annotations can', () => {
    for (const a of alerts) {
      for (const label of a.summary.match(/\$labels\.(\w+)/g) ?? []) {
        const name = label.slice('$labels.'.length);
        // An aggregation must keep every label the annotations print.
        expect(a.expr).toMatch(new RegExp(`by \\([^)]*\\b${name}\\b`));
      }
    }
  });
});

describe('the dashboard', () => {
  const model = modelDashboard();
  const panels = (model.panels ?? []).filter((p): p is Panel => p.type !== 'row');

  test('has a stable uid and the datasource, namespace and model variables', () => {
    expect(model.uid).toBe(DASHBOARD_UID);
    expect((model.templating.list ?? []).map((v) => v.name)).toEqual(['datasource', 'namespace', 'model']);
  });

  test.each([
    'Traffic split',
    'Latency',
    'Error rate',
    'Feature drift (PSI)',
    'Phase',
    'Canary weight & step',
    'Analysis measurements',
    'Rollout history',
    'Replicas',
    'Scale to zero',
  ])('has the panel "%s"', (title) => {
    expect(panels.map((p) => p.title)).toContain(title);
  });

  test('every panel reads the selected data source and only the selected model', () => {
    for (const p of panels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      const exprs = ((p.targets ?? []) as unknown as { expr: string }[]).map((t) => t.expr);
      expect(exprs.length).toBeGreaterThan(0);
      for (const e of exprs) expect(e).toMatch(/namespace="\$namespace", (name|model)="\$model"/);
    }
  });

  test('latency shows p50, p90 and p99 by revision', () => {
    const latency = panels.find((p) => p.title === 'Latency')!;
    const exprs = ((latency.targets ?? []) as unknown as { expr: string }[]).map((t) => t.expr);
    expect(exprs.map((e) => /histogram_quantile\(([\d.]+)/.exec(e)?.[1])).toEqual(['0.5', '0.9', '0.99']);
    for (const e of exprs) expect(e).toContain('sum by (revision, le)');
  });

  test('panel ids are unique', () => {
    const ids = (model.panels ?? []).map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('exported queries', () => {
  test('allQueries lists every alert and dashboard expression once, with its origin', () => {
    const all = allQueries();
    expect(all.length).toBe(alertQueries().length + dashboardQueries(DEFAULT_VARIABLES).length);
    expect(new Set(all.map((q) => q.origin)).size).toBe(all.length);
    expect(all.map((q) => q.origin)).toContain('alert SiskinDriftDetected');
    expect(all.map((q) => q.origin)).toContain('dashboard panel "Latency" (C)');
    expect(all.map((q) => q.origin)).toContain('dashboard variable model');
  });

  test('substitutes the given values for every Grafana variable', () => {
    const all = allQueries({ namespace: 'ml', model: 'fraud', rateInterval: '30s' });
    for (const q of all) expect(q.expr).not.toContain('$');
    const traffic = all.find((q) => q.origin === 'dashboard panel "Traffic split" (A)')!;
    expect(traffic.expr).toContain('namespace="ml", model="fraud"');
    expect(traffic.expr).toContain('[30s]');
  });

  test.each<[string, string]>([
    ['$name', 'x{a="$model"}'],
    ['${name}', 'x{a="${model}"}'],
    ['${name:format}', 'x{a="${model:raw}"}'],
    ['$__rate_interval', 'rate(x[$__rate_interval])'],
  ])('understands %s', (_syntax, expr) => {
    expect(substituteVariables(expr, DEFAULT_VARIABLES)).not.toContain('$');
  });

  test('refuses a variable it has no value for, so none reaches Prometheus unsubstituted', () => {
    expect(() => substituteVariables('x{pod="$pod"}', DEFAULT_VARIABLES)).toThrow(/unknown Grafana variable \$pod/);
  });
});
