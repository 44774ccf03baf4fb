// Every PromQL expression Siskin ships outside the operator's own analysis, in one list: the
// chart tests parse each with promtool, and the end-to-end suite evaluates each against a live
// Prometheus, so a renamed metric or label fails a test instead of a user's dashboard.
import { alertQueries, type QuerySource } from './alerts.ts';
import { dashboardQueries, type DashboardVariables } from './dashboard.ts';

/** Values that make the dashboard's queries concrete; override namespace and model to match live series. */
export const DEFAULT_VARIABLES: DashboardVariables = { namespace: 'default', model: 'iris', rateInterval: '1m', range: '1h' };

/** Every alert and dashboard expression with its origin, Grafana variables substituted. */
export function allQueries(vars: Partial<DashboardVariables> = {}): QuerySource[] {
  return [...alertQueries(), ...dashboardQueries({ ...DEFAULT_VARIABLES, ...vars })];
}
