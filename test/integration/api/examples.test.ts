// What users copy must work: every file in examples/ and every ModelDeployment in README.md
// goes through the real `kubectl apply --dry-run=server` against a real API server carrying
// the generated CRD (admission, defaulting and CEL all run; nothing is stored). And the
// shared table of cross-field rules (test/fixtures/specRules.ts) is judged here by the API
// server's CEL exactly as operator/api/rules.test.ts judges it with the operator's zod.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_FILE } from '../../../tooling/crd.ts';
import { GROUP, KIND, PLURAL, VERSION } from '../../../operator/api/schema.ts';
import { installGatewayApiCrds, startCluster, type LocalCluster } from '../../cluster/index.ts';
import { RULE_CASES, type RuleCase } from '../../fixtures/specRules.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(ROOT, 'examples');
const exampleFiles = readdirSync(EXAMPLES)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const exampleText = (file: string): string => readFileSync(join(EXAMPLES, file), 'utf8');

/** The ```yaml blocks of a Markdown text that declare a ModelDeployment. */
function modelDeploymentBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```yaml\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).filter((block) => /^kind: ModelDeployment$/m.test(block));
}
const readmeBlocks = modelDeploymentBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

/** The objects a manifest declares, as kubectl names them: "modeldeployment.siskin.dev/iris". */
function declaredObjects(manifest: string): string[] {
  return manifest.split(/^---$/m).flatMap((doc) => {
    const kind = /^kind: (\S+)$/m.exec(doc)?.[1];
    const apiVersion = /^apiVersion: (\S+)$/m.exec(doc)?.[1];
    const name = /^metadata:\s*\{?\s*name:\s*([\w.-]+)/m.exec(doc)?.[1];
    if (!kind || !apiVersion || !name) return [];
    const group = apiVersion.includes('/') ? `.${apiVersion.split('/')[0]}` : '';
    return [`${kind.toLowerCase()}${group}/${name}`];
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

let cluster: LocalCluster;
const dryRun = (args: string[], input?: string): ReturnType<LocalCluster['kubectl']> =>
  cluster.kubectl(['apply', '--dry-run=server', ...args], input === undefined ? {} : { input });

beforeAll(async () => {
  cluster = await startCluster();
  await cluster.kubectlOk(['apply', '--server-side', '-f', join(ROOT, CRD_FILE)]);
  await cluster.kubectlOk(['wait', '--for=condition=Established', `crd/${PLURAL}.${GROUP}`, '--timeout=60s']);
  // Only what the examples use: an HTTPRoute is admitted only once its CRD exists.
  if (exampleFiles.some((f) => /^apiVersion: gateway\.networking\.k8s\.io\//m.test(exampleText(f)))) await installGatewayApiCrds(cluster);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

describe('examples/ and the README apply to a real API server', () => {

  test('examples/README.md lists exactly the files in examples/', () => {
    const listed = [...readFileSync(join(EXAMPLES, 'README.md'), 'utf8').matchAll(/^\| \[`([\w.-]+\.yaml)`\]/gm)].map((m) => m[1]);
    expect(listed.sort()).toEqual(exampleFiles);
    expect(exampleFiles.length).toBeGreaterThanOrEqual(10);
  });

  test.each(exampleFiles)('examples/%s is accepted as a whole, every object in it', async (file) => {
    const objects = declaredObjects(exampleText(file));
    expect(objects).toContainEqual(expect.stringMatching(/^modeldeployment\.siskin\.dev\//));
    const r = await dryRun(['-f', join(EXAMPLES, file)]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(objects.map((o) => `${o} created (server dry run)`).sort());
  });

  test('the README has ModelDeployment examples to check', () => {
    expect(readmeBlocks.length).toBeGreaterThan(0);
  });

  test.each(readmeBlocks.map((block, i): [number, string] => [i + 1, block]))('README.md ModelDeployment block %d is accepted', async (_n, block) => {
    const r = await dryRun(['-f', '-'], block);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${KIND.toLowerCase()}.${GROUP}/`);
  });

  // The check can fail: the same files, broken the way the issue found the README.
  test.each<[string, string, (text: string) => string, RegExp]>([
    ['minimal.yaml', 'the <64 hex> placeholder', (t) => t.replace(/sha256: [a-f0-9]{64}/, 'sha256: <64 hex>'), /spec\.model\.sha256: Invalid value: "<64 hex>"/],
    [
      'drift-alert.yaml',
      'no reference profile under its FeatureDrift metric',
      (t) => t.replace(/^ {4}referenceProfile:\n {6}uri: \S+\n/m, ''),
      /spec\.model\.referenceProfile: Required value: a FeatureDrift metric needs model\.referenceProfile/,
    ],
  ])('a copy of examples/%s with %s is refused, naming the field', async (file, _how, breakIt, error) => {
    const broken = breakIt(exampleText(file));
    expect(broken).not.toBe(exampleText(file));
    const r = await dryRun(['-f', '-'], broken);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(error);
  });
});

describe('the cross-field rules in the API server (CEL) judge the shared table as the operator does', () => {
  const apply = (i: number, c: RuleCase): ReturnType<LocalCluster['kubectl']> =>
    dryRun(['-f', '-'], JSON.stringify({ apiVersion: `${GROUP}/${VERSION}`, kind: KIND, metadata: { name: c.name ?? `rule-case-${i}` }, spec: c.spec }));

  test.each(RULE_CASES.map((c, i): [string, number, RuleCase] => [c.what, i, c]).filter(([, , c]) => c.rejects && !c.rejects.operatorOnly))('rejects %s, naming the field', async (_what, i, c) => {
    const r = await apply(i, c);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`${escapeRegExp(c.rejects!.field)}: [^\\n]*${escapeRegExp(c.rejects!.message)}`));
  });

  // operatorOnly rows are what CEL cannot check: admitted here, refused by the operator's parse.
  test.each(RULE_CASES.map((c, i): [string, number, RuleCase] => [c.what, i, c]).filter(([, , c]) => !c.rejects || c.rejects.operatorOnly))('accepts %s', async (_what, i, c) => {
    const r = await apply(i, c);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
