// `kubectl siskin lint`: a manifest's ModelDeployments judged offline as the API server would
// judge them, so a pull request fails before Argo CD or Flux syncs it. There is one source of
// the rules (operator/api/schema.ts): the CRD is generated from its zod schema, and each CEL
// rule carries a TypeScript twin (`holds`) that the operator's own parse runs; the shared
// table test/fixtures/specRules.ts holds the twins to the API server's CEL, and
// test/integration/cli/lintParity.test.ts holds this command to the API server. Pure.
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { GROUP, KIND, VERSION, modelDeploymentSchema } from '../api/schema.ts';

/** One problem, at a field in Kubernetes path notation (spec.rollout.steps[0].setWeight). */
export interface LintIssue {
  field: string;
  message: string;
}

/** What lint made of one document of a file. */
export interface LintDocument {
  /** The file as given ("-" for stdin). */
  source: string;
  /** 1-based position in the file. */
  index: number;
  /** The file has more than one document (the doc number is then printed). */
  multi: boolean;
  kind?: string;
  name?: string;
  /** The API server would refuse the document for these. */
  errors: LintIssue[];
  /** Admitted by the API server, refused by the operator's own parse (checks CEL cannot make). */
  warnings: LintIssue[];
  /** Why the document was not linted (another kind, an empty document). */
  skipped?: string;
}

const API_VERSION = `${GROUP}/${VERSION}`;

/** A zod issue path in Kubernetes notation: ["spec", "steps", 0, "x"] → "spec.steps[0].x". */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(object)' : out;
}

/** The JSON Schema the CRD is generated from (before its structural reshaping), for the rules and the int-or-string fields. */
const jsonSchema = z.toJSONSchema(modelDeploymentSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'throw' }) as Record<string, unknown>;

/** Every CEL rule message in the schema: a custom zod issue with one of these is a twin of an API-server rule. */
const celMessages: ReadonlySet<string> = (() => {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const n of node) walk(n);
    else if (typeof node === 'object' && node !== null) {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'x-kubernetes-validations' && Array.isArray(v)) for (const r of v as { message?: string }[]) if (r.message) out.add(r.message);
        walk(v);
      }
    }
  };
  walk(jsonSchema);
  return out;
})();

/** The schema node at an issue's path (properties, map values, list items), if the path leads to one. */
function schemaAt(path: readonly PropertyKey[]): Record<string, unknown> | undefined {
  let node: Record<string, unknown> | undefined = jsonSchema;
  for (const p of path) {
    if (node === undefined) return undefined;
    const properties = node.properties as Record<string, Record<string, unknown>> | undefined;
    if (typeof p === 'number') node = node.items as Record<string, unknown> | undefined;
    else if (properties && Object.hasOwn(properties, p)) node = properties[p as string];
    else node = typeof node.additionalProperties === 'object' ? (node.additionalProperties as Record<string, unknown>) : undefined;
  }
  return node;
}

/**
 * Whether the API server makes this check too. Custom issues that are no CEL rule's twin (an
 * IANA zone, a warm-up input's element count) and a quantity's form (an int-or-string field:
 * the CRD carries no pattern for it) are the operator's own: it refuses them in status.
 */
function apiServerChecks(issue: z.core.$ZodIssue): boolean {
  if (issue.code === 'custom') return celMessages.has(issue.message);
  return schemaAt(issue.path)?.['x-kubernetes-int-or-string'] !== true;
}

/**
 * Schema errors after which the API server evaluates no CEL rule at all ("some validation
 * rules were not checked because the object was invalid"): a wrong type or format, a missing
 * field, a value outside an enum, a string or list too long. A bound or a pattern does not block.
 */
function blocksCel(issue: z.core.$ZodIssue): boolean {
  switch (issue.code) {
    case 'invalid_type':
    case 'invalid_value':
      return true;
    case 'too_big':
      return issue.origin === 'string' || issue.origin === 'array';
    case 'invalid_format':
      return issue.format === 'datetime';
    default:
      return false;
  }
}

type SchemaNode = Record<string, unknown>;

/**
 * Fields of `value` that its schema node does not declare, as the API server's strict field
 * validation finds them (kubectl's default): an object's unknown keys, except where the schema
 * keeps unknown fields (x-kubernetes-preserve-unknown-fields) or describes a map's values.
 */
function unknownFields(value: unknown, node: SchemaNode | undefined, path: PropertyKey[]): string[] {
  if (node === undefined || typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap((v, i) => unknownFields(v, node.items as SchemaNode | undefined, [...path, i]));
  const properties = (node.properties ?? {}) as Record<string, SchemaNode>;
  const values = node.additionalProperties;
  const keepsUnknown = node['x-kubernetes-preserve-unknown-fields'] === true;
  return Object.entries(value).flatMap(([k, v]) => {
    if (Object.hasOwn(properties, k)) return unknownFields(v, properties[k], [...path, k]);
    if (typeof values === 'object' && values !== null && Object.keys(values).length > 0) return unknownFields(v, values as SchemaNode, [...path, k]);
    return keepsUnknown ? [] : [fieldPath([...path, k])];
  });
}

/** Judges one ModelDeployment object: errors the API server would give, warnings only the operator would. */
export function lintModelDeployment(obj: Record<string, unknown>): { errors: LintIssue[]; warnings: LintIssue[] } {
  if (obj.apiVersion !== API_VERSION) {
    return { errors: [{ field: 'apiVersion', message: `${KIND} is served as ${API_VERSION}, not ${JSON.stringify(obj.apiVersion ?? null)}` }], warnings: [] };
  }
  // Status is the operator's: the API server ignores it on create and apply.
  const object = Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'status'));
  // Strict field validation decodes before it validates: unknown fields are all it reports.
  const unknown = unknownFields(object.spec, schemaAt(['spec']), ['spec']);
  if (unknown.length > 0) {
    return { errors: unknown.map((field) => ({ field, message: 'unknown field: the CRD has no such field (kubectl apply refuses it; with --validate=false the API server drops it)' })), warnings: [] };
  }
  const r = modelDeploymentSchema.safeParse(object);
  if (r.success) return { errors: [], warnings: [] };
  const errors: LintIssue[] = [];
  const warnings: LintIssue[] = [];
  // zod runs the rules' twins past most schema errors; the API server does not, so neither do we.
  const celBlocked = r.error.issues.some((i) => apiServerChecks(i) && blocksCel(i));
  for (const issue of r.error.issues) {
    if (!apiServerChecks(issue)) warnings.push({ field: fieldPath(issue.path), message: issue.message });
    else if (!(celBlocked && issue.code === 'custom')) errors.push({ field: fieldPath(issue.path), message: issue.message });
  }
  return { errors, warnings };
}

/** Lints every document of a YAML or JSON manifest; documents of other kinds are skipped with a note. */
export function lintManifest(source: string, text: string): LintDocument[] {
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const multi = list.length > 1;
  return list.map((doc, i): LintDocument => {
    const base = { source, index: i + 1, multi, errors: [] as LintIssue[], warnings: [] as LintIssue[] };
    if (doc.errors.length > 0) return { ...base, errors: doc.errors.map((e) => ({ field: '(document)', message: `not valid YAML: ${e.message.split('\n')[0]}` })) };
    const value: unknown = doc.toJS({ maxAliasCount: 100 });
    if (value === null || value === undefined) return { ...base, skipped: 'empty document' };
    if (typeof value !== 'object' || Array.isArray(value)) return { ...base, errors: [{ field: '(document)', message: 'not a Kubernetes object (a YAML mapping with apiVersion and kind)' }] };
    const obj = value as Record<string, unknown>;
    const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
    const meta = obj.metadata as { name?: unknown } | undefined;
    const name = typeof meta?.name === 'string' ? meta.name : undefined;
    const named = { ...base, ...(kind !== undefined ? { kind } : {}), ...(name !== undefined ? { name } : {}) };
    const group = typeof obj.apiVersion === 'string' ? obj.apiVersion.split('/')[0] : undefined;
    if (kind !== KIND || group !== GROUP) return { ...named, skipped: `not a ${KIND} (${typeof obj.apiVersion === 'string' ? obj.apiVersion : 'no apiVersion'}, ${kind ?? 'no kind'})` };
    return { ...named, ...lintModelDeployment(obj) };
  });
}

/** Where a document is: FILE, or FILE:doc N in a file of several. */
function location(d: LintDocument): string {
  return d.multi ? `${d.source}:doc ${d.index}` : d.source;
}

/** The object as kubectl would name it: ModelDeployment/iris. */
function objectName(d: LintDocument): string {
  return `${d.kind ?? '(no kind)'}/${d.name ?? '(no name)'}`;
}

/** The text view: one line per problem (errors, then `warning:` lines), a note per skipped document, and a summary. */
export function renderLint(docs: readonly LintDocument[]): string {
  const lines: string[] = [];
  for (const d of docs) {
    if (d.skipped !== undefined) {
      lines.push(`${location(d)}: skipped: ${d.skipped}`);
      continue;
    }
    for (const e of d.errors) lines.push(`${location(d)} ${objectName(d)}: ${e.field}: ${e.message}`);
    for (const w of d.warnings) lines.push(`${location(d)} ${objectName(d)}: ${w.field}: warning: ${w.message} (the API server admits this; the operator refuses the spec)`);
    if (d.errors.length === 0 && d.warnings.length === 0) lines.push(`${location(d)} ${objectName(d)}: valid`);
  }
  const linted = docs.filter((d) => d.skipped === undefined);
  const invalid = linted.filter((d) => d.errors.length > 0).length;
  lines.push(`${linted.length} ${KIND}${linted.length === 1 ? '' : 's'} linted, ${invalid} invalid`);
  return `${lines.join('\n')}\n`;
}
