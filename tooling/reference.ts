// The ModelDeployment field reference (docs/api-reference.md), rendered from the same OpenAPI
// schema the CRD carries: one row per field with its type, default, bounds and description, so
// the docs can never disagree with what `kubectl explain` and the API server say.
import { modelDeploymentCrd } from './crd.ts';

/** Where the generated reference lives. */
export const REFERENCE_FILE = 'docs/api-reference.md';

interface Schema {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  pattern?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

function typeOf(s: Schema): string {
  if (s['x-kubernetes-int-or-string']) return 'int or string';
  if (s.type === 'array') return `[]${s.items ? typeOf(s.items) : 'any'}`;
  if (s.type === 'object' && s.additionalProperties && typeof s.additionalProperties === 'object') return `map[string]${typeOf(s.additionalProperties)}`;
  return s.type ?? 'any';
}

function constraints(s: Schema): string {
  const parts: string[] = [];
  if (s.enum) parts.push(`one of ${s.enum.map((v) => `\`${String(v)}\``).join(', ')}`);
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.default !== undefined) parts.push(`default \`${JSON.stringify(s.default)}\``);
  for (const v of s['x-kubernetes-validations'] ?? []) parts.push(`rule: ${v.message}`);
  return parts.join('; ');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function rows(prefix: string, s: Schema, out: string[]): void {
  for (const [name, child] of Object.entries(s.properties ?? {})) {
    const path = `${prefix}.${name}`;
    const req = s.required?.includes(name) ? ' (required)' : '';
    out.push(`| \`${path}\`${req} | ${cell(typeOf(child))} | ${cell(child.description ?? '')} | ${cell(constraints(child))} |`);
    rows(path, child, out);
    if (child.type === 'array' && child.items?.properties) rows(`${path}[]`, child.items, out);
  }
}

/** Renders the reference as Markdown. */
export function renderReference(): string {
  const crd = modelDeploymentCrd() as unknown as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } };
  const version = crd.spec.versions[0]!;
  const root = version.schema.openAPIV3Schema;
  const out = [
    '<!-- generated from operator/api/schema.ts by `npm run gen:crds` — do not edit -->',
    '# ModelDeployment reference',
    '',
    `\`siskin.dev/${version.name}\`, kind \`ModelDeployment\`, short name \`md\`. Every field below is also in \`kubectl explain modeldeployment.<path>\`.`,
    '',
  ];
  for (const part of ['spec', 'status'] as const) {
    out.push(`## ${part}`, '', '| field | type | description | constraints |', '|---|---|---|---|');
    const s = root.properties?.[part];
    // Rules spanning sections sit on the part itself (spec.model with spec.rollout, …).
    if (s?.['x-kubernetes-validations']) out.push(`| \`${part}\` | ${cell(typeOf(s))} | ${cell(s.description ?? '')} | ${cell(constraints(s))} |`);
    if (s) rows(part, s, out);
    out.push('');
  }
  return out.join('\n');
}
