// Regenerates crds/ from the zod schema (npm run gen:crds); the unit tests fail when it is stale.
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CRD_FILE, renderCrdYaml } from '../operator/api/crd.ts';

const target = fileURLToPath(new URL(`../${CRD_FILE}`, import.meta.url));
writeFileSync(target, renderCrdYaml());
console.log(`wrote ${CRD_FILE}`);
