// Regenerates crds/ and the field reference in docs/ from the zod schema (npm run gen:crds); the unit tests fail when it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCrdYaml } from './crd.ts';
import { REFERENCE_FILE, renderReference } from './reference.ts';

for (const [file, text] of [
  [CRD_FILE, renderCrdYaml()],
  [REFERENCE_FILE, renderReference()],
] as const) {
  writeFileSync(fileURLToPath(new URL(`../${file}`, import.meta.url)), text);
  console.log(`wrote ${file}`);
}
