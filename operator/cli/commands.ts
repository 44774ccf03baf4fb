// kubectl-siskin's subcommands: the thin shell between the parsed command line, the API
// server and the pure views. Every manual control is an annotation the operator acts on (so
// GitOps users have the same levers), written with a JSON merge patch so it touches nothing
// else; reads go straight to the API server, never a cache.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION } from '../api/schema.ts';
import { ANNOTATION_COMMAND, ANNOTATION_PAUSED } from '../api/reasons.ts';
import type { SchemaCheckMode, Signature, SignatureLike } from '../analysis/schemaGate.ts';
import { SCHEMA_CHECK_MODES, type CliArgs, type Subcommand } from './args.ts';
import { checkSignatures, renderCheck } from './check.ts';
import { lintManifest, renderLint, type LintDocument } from './lint.ts';
import { OnnxFormatError, readOnnxSignatureFile } from './onnxSignature.ts';
import { renderHistory, renderStatus, type ModelDeploymentView } from './render.ts';

/** An error the user can act on: main prints its message alone and exits 1. */
export class CliError extends Error {
  override name = 'CliError';
}

/** Where output goes, and the clock (injected so the views stay pure). */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  now: () => number;
  /** All of stdin, for `lint -`. */
  readStdin: () => Promise<string>;
}

/**
 * The plugin's exit codes (documented in --help and the README): check and lint exit VERDICT
 * when they ran and the answer is no, so CI tells a breaking model from a broken job.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, verdict: 3 } as const;

/** The field manager the plugin's patches are recorded under (metadata.managedFields). */
export const FIELD_MANAGER = 'kubectl-siskin';

/** kubectl's resource.group spelling, used in messages. */
const RESOURCE = `modeldeployment.${GROUP}`;

type RunArgs = Extract<CliArgs, { kind: 'run' }>;

/** The subcommands that write an annotation rather than read. */
export type ControlCommand = Exclude<Subcommand, 'status' | 'history'>;

/** The API client and namespace the command line selects, kubectl-style. */
export interface Target {
  kubeConfig: KubeConfig;
  namespace: string;
  /** The API server URL, for error messages. */
  server: string;
}

/**
 * Loads the kubeconfig like kubectl: --kubeconfig, else $KUBECONFIG (a path list), else
 * ~/.kube/config, else in-cluster; --context picks a context; the namespace is -n, else the
 * context's, else "default".
 */
export function resolveTarget(args: Pick<RunArgs, 'kubeconfig' | 'context' | 'namespace'>): Target {
  const kubeConfig = new KubeConfig();
  try {
    if (args.kubeconfig !== undefined) kubeConfig.loadFromFile(args.kubeconfig);
    else kubeConfig.loadFromDefault();
  } catch (err) {
    throw new CliError(`cannot load kubeconfig ${args.kubeconfig ?? 'from KUBECONFIG or ~/.kube/config'}: ${(err as Error).message}`);
  }
  if (args.context !== undefined) {
    if (!kubeConfig.getContextObject(args.context)) throw new CliError(`context "${args.context}" not found in the kubeconfig`);
    kubeConfig.setCurrentContext(args.context);
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new CliError(`the kubeconfig's current context "${kubeConfig.getCurrentContext()}" names no cluster: pass --context`);
  const namespace = args.namespace ?? kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace ?? 'default';
  return { kubeConfig, namespace, server };
}

/** The annotation changes (a JSON merge patch of metadata.annotations; null deletes) a control command makes. */
export function annotationPatch(command: ControlCommand, opts: { full: boolean; nonce: string }): Record<string, string | null> {
  // The operator runs a command once per distinct annotation value: a fresh nonce makes a
  // repeated promote a new command instead of a no-op.
  const oneShot = (verb: string): string => `${verb}:${opts.nonce}`;
  switch (command) {
    case 'promote':
      return { [ANNOTATION_COMMAND]: oneShot(opts.full ? 'promote-full' : 'promote') };
    case 'abort':
      return { [ANNOTATION_COMMAND]: oneShot('abort') };
    case 'retry':
      return { [ANNOTATION_COMMAND]: oneShot('retry') };
    case 'pause':
      return { [ANNOTATION_PAUSED]: 'true' };
    case 'resume':
      // Both kinds of pause: the user's (the annotation) and the analysis' own after too
      // many inconclusive rounds (cleared by the resume command).
      return { [ANNOTATION_PAUSED]: null, [ANNOTATION_COMMAND]: oneShot('resume') };
  }
}

/**
 * A warning when a control command will have nothing to act on, judged from the status the
 * patch returned (the command is still recorded: the operator may be behind).
 */
export function commandWarning(command: Subcommand, md: ModelDeploymentView): string | undefined {
  const s = md.status;
  const name = md.metadata.name;
  const rolledBack = s?.phase === 'RolledBack';
  switch (command) {
    case 'promote':
    case 'abort':
      if (!s?.canary) return `${name} has no rollout in progress: ${command} has nothing to act on`;
      if (rolledBack) return `the rollout of ${s.canary.version} was already rolled back: ${command} has nothing to act on (kubectl siskin retry ${name} rolls it out again)`;
      return undefined;
    case 'retry':
      return rolledBack ? undefined : `${name} is ${s?.phase ?? 'without status'}, not RolledBack: retry acts only on a rolled-back rollout`;
    case 'pause':
      return s?.canary && !rolledBack ? undefined : `${name} has no rollout in progress: the next one will hold at its first step until resumed`;
    default:
      return undefined;
  }
}

/** A Kubernetes Status body, as far as messages need it. */
interface ApiStatus {
  message?: string;
  reason?: string;
  details?: { name?: string };
}

function parseStatus(body: unknown): ApiStatus | undefined {
  if (typeof body === 'object' && body !== null) return body;
  if (typeof body !== 'string') return undefined;
  try {
    return JSON.parse(body) as ApiStatus;
  } catch {
    return undefined;
  }
}

/** Turns a client error into a message that says what to do. */
export function describeApiError(err: unknown, ctx: { name: string; namespace: string; server: string; verb: string }): CliError {
  const e = err as { code?: unknown; body?: unknown; message?: string; cause?: { code?: string; message?: string } };
  if (typeof e.code === 'number') {
    const status = parseStatus(e.body);
    const detail = status?.message ?? `HTTP ${e.code}`;
    if (e.code === 404) {
      // A 404 for the object names it; one for the resource means the CRD is not there.
      if (status?.details?.name === ctx.name) return new CliError(`modeldeployment "${ctx.name}" not found in namespace "${ctx.namespace}"`);
      return new CliError(`the API server at ${ctx.server} does not serve ${PLURAL}.${GROUP}/${VERSION}: is Siskin's CRD installed? (${detail})`);
    }
    if (e.code === 401) return new CliError(`the API server at ${ctx.server} rejected the kubeconfig's credentials (401 Unauthorized)`);
    return new CliError(`${ctx.verb} modeldeployment "${ctx.name}" in namespace "${ctx.namespace}" failed: ${detail}`);
  }
  // fetch failures carry the socket error (ECONNREFUSED, ENOTFOUND, a TLS error) in the message or the cause.
  const raw = e.message ?? String(err);
  const reason = /reason: (.*)$/.exec(raw)?.[1] ?? e.cause?.message ?? raw;
  return new CliError(`cannot reach the Kubernetes API server at ${ctx.server}: ${reason}`);
}

/** Runs one subcommand; throws CliError on any failure. */
export async function runCommand(args: RunArgs, target: Target, io: CliIo): Promise<void> {
  const custom = target.kubeConfig.makeApiClient(CustomObjectsApi);
  const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace: target.namespace, name: args.name };
  const ctx = { name: args.name, namespace: target.namespace, server: target.server };

  if (args.command === 'status' || args.command === 'history') {
    let md: ModelDeploymentView;
    try {
      md = (await custom.getNamespacedCustomObject(ref)) as ModelDeploymentView;
    } catch (err) {
      throw describeApiError(err, { ...ctx, verb: 'reading' });
    }
    if (args.command === 'status') {
      io.stdout(args.output === 'json' ? `${JSON.stringify(md.status ?? {}, null, 2)}\n` : renderStatus(md, io.now()));
    } else {
      io.stdout(args.output === 'json' ? `${JSON.stringify(md.status?.history ?? [], null, 2)}\n` : renderHistory(md, io.now()));
    }
    return;
  }

  const annotations = annotationPatch(args.command, { full: args.full, nonce: String(io.now()) });
  let md: ModelDeploymentView;
  try {
    md = (await custom.patchNamespacedCustomObject(
      { ...ref, body: { metadata: { annotations } }, fieldManager: FIELD_MANAGER },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as ModelDeploymentView;
  } catch (err) {
    throw describeApiError(err, { ...ctx, verb: 'patching' });
  }
  const warning = commandWarning(args.command, md);
  if (warning) io.stderr(`warning: ${warning}\n`);
  const written = Object.entries(annotations)
    .map(([k, v]) => (v === null ? `${k}-` : `${k}=${v}`))
    .join(', ');
  const done: Record<ControlCommand, string> = {
    promote: args.full ? 'full promotion requested' : 'promotion requested',
    abort: 'abort requested',
    retry: 'retry requested',
    pause: 'paused',
    resume: 'resumed',
  };
  io.stdout(`${RESOURCE}/${args.name} ${done[args.command]} (${written})\n`);
}

/** Reads a model file's signature, turning I/O and format errors into messages that name the file. */
function modelSignature(path: string, role: string): Signature {
  try {
    return readOnnxSignatureFile(path);
  } catch (err) {
    if (err instanceof OnnxFormatError) throw new CliError(`${role} ${path}: ${err.message}`);
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`cannot read ${role} ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'a directory, not a file' : e.message}`);
  }
}

type CheckArgs = Extract<CliArgs, { kind: 'check' }>;

/** Where the stable signature and the mode come from: a model file, or a live ModelDeployment's status and spec. */
async function stableSide(args: CheckArgs, resolve: () => Target): Promise<{ signature: SignatureLike; mode: SchemaCheckMode; source: string; json: Record<string, unknown> }> {
  if ('file' in args.against) {
    return { signature: modelSignature(args.against.file, 'stable model'), mode: args.schemaCheck ?? 'Strict', source: args.against.file, json: { file: args.against.file } };
  }
  const name = args.against.name;
  const target = resolve();
  const custom = target.kubeConfig.makeApiClient(CustomObjectsApi);
  let md: ModelDeploymentView;
  try {
    md = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, namespace: target.namespace, name })) as ModelDeploymentView;
  } catch (err) {
    throw describeApiError(err, { name, namespace: target.namespace, server: target.server, verb: 'reading' });
  }
  const stable = md.status?.stable;
  if (!stable?.signature) {
    throw new CliError(
      `modeldeployment "${name}" in namespace "${target.namespace}" has no stable revision with a recorded signature (status.stable.signature) yet: nothing to check against; pass --against STABLE.onnx`,
    );
  }
  const specMode = md.spec?.rollout?.schemaCheck ?? 'Strict';
  if (!(SCHEMA_CHECK_MODES as readonly string[]).includes(specMode)) throw new CliError(`modeldeployment "${name}" has an unknown spec.rollout.schemaCheck "${specMode}"`);
  return {
    signature: stable.signature,
    mode: args.schemaCheck ?? (specMode as SchemaCheckMode),
    source: `md/${name} in namespace ${target.namespace}: stable version ${stable.version} (revision ${stable.name})`,
    json: { modelDeployment: name, namespace: target.namespace, version: stable.version, revision: stable.name },
  };
}

/** `check`: the schema gate on a new model; returns EXIT.ok when the gate admits it, EXIT.verdict when not. */
export async function runCheck(args: CheckArgs, resolve: () => Target, io: CliIo): Promise<number> {
  const candidate = modelSignature(args.model, 'model');
  const stable = await stableSide(args, resolve);
  const report = checkSignatures(stable.signature, candidate, stable.mode);
  if (args.output === 'json') {
    const out = { ...report, stable: { ...stable.json, signature: stable.signature }, candidate: { file: args.model, signature: candidate } };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  } else {
    io.stdout(renderCheck(report, { candidate: args.model, stable: stable.source }));
  }
  return report.compatible ? EXIT.ok : EXIT.verdict;
}

/** A path as kubectl -f takes it: a file (or "-"), or a directory's .yaml, .yml and .json files (not recursive). */
function manifestFiles(path: string): string[] {
  if (path === '-') return [path];
  let entries: string[];
  try {
    if (!statSync(path).isDirectory()) return [path];
    entries = readdirSync(path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new CliError(`cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file or directory' : e.message}`);
  }
  const files = entries.filter((f) => /\.(ya?ml|json)$/.test(f)).sort().map((f) => join(path, f));
  if (files.length === 0) throw new CliError(`${path} holds no .yaml, .yml or .json file`);
  return files;
}

/** `lint`: returns EXIT.verdict when any ModelDeployment is invalid. */
export async function runLint(args: Extract<CliArgs, { kind: 'lint' }>, io: CliIo): Promise<number> {
  const docs: LintDocument[] = [];
  for (const file of args.files.flatMap(manifestFiles)) {
    let text: string;
    try {
      text = file === '-' ? await io.readStdin() : readFileSync(file, 'utf8');
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new CliError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
    docs.push(...lintManifest(file, text));
  }
  io.stdout(args.output === 'json' ? `${JSON.stringify(docs, null, 2)}\n` : renderLint(docs));
  return docs.some((d) => d.errors.length > 0) ? EXIT.verdict : EXIT.ok;
}
