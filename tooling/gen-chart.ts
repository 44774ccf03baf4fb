// Writes the generated files of the Helm chart (npm run gen:chart) from chart.ts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChartFiles } from './chart.ts';

for (const [path, content] of Object.entries(renderChartFiles())) {
  const target = fileURLToPath(new URL(`../${path}`, import.meta.url));
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content);
  console.log(`wrote ${path}`);
}
