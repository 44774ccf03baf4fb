// The local Prometheus scrapes a target the test serves and answers queries over its HTTP API.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import { runCli, startPrometheus, waitFor, type LocalPrometheus } from '../../cluster/index.ts';

describe('local Prometheus', () => {
  let target: Server;
  let prom: LocalPrometheus | undefined;
  let scrapes = 0;
  let port = 0;

  beforeAll(async () => {
    target = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      scrapes++;
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        '# HELP siskin_test_answer A value the test reads back.\n# TYPE siskin_test_answer gauge\n' +
          'siskin_test_answer{model="iris"} 42.5\n' +
          `# HELP siskin_test_scrapes_total Scrapes served.\n# TYPE siskin_test_scrapes_total counter\nsiskin_test_scrapes_total ${scrapes}\n`,
      );
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const addr = target.address();
    port = typeof addr === 'object' && addr ? addr.port : 0;
  });
  afterAll(async () => {
    await prom?.stop();
    await new Promise((r) => target.close(r));
  });

  test('reports its pinned version', async () => {
    const out = await runCli('prometheus', ['--version']);
    expect(out.stdout + out.stderr).toMatch(/prometheus, version 3\.\d+\.\d+/);
  });

  test('scrapes a served target and returns its value through the query API', async () => {
    prom = await startPrometheus({ staticTargets: [`127.0.0.1:${port}`] });
    const samples = await waitFor('siskin_test_answer scraped', async () => {
      const r = await prom!.query('siskin_test_answer');
      return r.length > 0 ? r : undefined;
    }, { timeoutMs: 30_000, intervalMs: 250 });
    expect(samples).toEqual([{ metric: { __name__: 'siskin_test_answer', instance: `127.0.0.1:${port}`, job: 'static', model: 'iris' }, value: 42.5 }]);
    expect(scrapes).toBeGreaterThan(0);
    const up = await prom.query(`up{instance="127.0.0.1:${port}"}`);
    expect(up[0]?.value).toBe(1);
  });

  test('a bad query is an error naming the problem, not an empty result', async () => {
    await expect(prom!.query('sum(')).rejects.toThrow(/parse error/);
  });
});
