// Configuration comes from environment variables only (the operator's Deployment sets them),
// is validated once at startup, and an invalid one reports every problem at once. The names,
// schema and defaults are the operator's too: contract/servingEnv.ts.
import { parseServingEnv, type ServingSettings } from '../contract/servingEnv.ts';

/** Validated server configuration. */
export type ServingConfig = ServingSettings;

/** Result of parsing the environment: a config, or every problem found. */
export type ConfigResult = { ok: true; config: ServingConfig } | { ok: false; problems: string[] };

/** Parses and validates the environment; never throws. */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const r = parseServingEnv(env);
  return r.ok ? { ok: true, config: r.settings } : r;
}
