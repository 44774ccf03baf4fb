// Feedback across replicas, over real HTTP on loopback: four servers of one model (sharing a
// peer key and a bearer token, as the operator's pods do) answer predictions; labels posted to
// any one of them are scored by the replica that made each prediction. A forged id never makes
// a replica call an address of its choosing, and a replica that is gone is counted, not hidden.
import { describe, test, expect, beforeAll, afterAll } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startServing, tempDir } from '../test/fixtures/serving.ts';
import type { TestServer } from '../test/fixtures/serving.ts';

const TOKEN = 'replica-token';
const auth = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
const ROWS = [
  [5.1, 3.5, 1.4, 0.2],
  [6.7, 3.0, 5.2, 2.3],
  [5.9, 3.0, 4.2, 1.5],
];

interface Replica {
  server: TestServer;
  base: string;
}

interface Prediction {
  id: string;
  labels: number[];
  replica: number;
}

async function predict(r: Replica, row: number[], replica: number): Promise<Prediction> {
  const res = await fetch(`${r.base}/v2/models/tabular/infer`, { method: 'POST', headers: auth, body: JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 4], data: row }] }) });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { parameters: { feedback_id: string }; outputs: { name: string; data: number[] }[] };
  return { id: body.parameters.feedback_id, labels: body.outputs.find((o) => o.name === 'label')!.data, replica };
}

async function postLabels(r: Replica, labels: { id: string; label: number[] }[], headers: Record<string, string> = auth): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${r.base}/v2/models/tabular/feedback`, { method: 'POST', headers, body: JSON.stringify({ labels }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function counter(r: Replica, outcome: string): Promise<number> {
  const text = await (await fetch(`${r.base}/metrics`)).text();
  return Number(new RegExp(`siskin_feedback_labels_total\\{outcome="${outcome}"[^}]*\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

describe('feedback across four replicas', () => {
  const tmp = tempDir();
  const replicas: Replica[] = [];
  let decoy: Server | undefined;
  let decoyConnections = 0;

  beforeAll(async () => {
    writeFileSync(join(tmp.dir, 'key'), Buffer.alloc(32, 3));
    writeFileSync(join(tmp.dir, 'tokens'), `${TOKEN}\n`);
    for (let i = 0; i < 4; i++) {
      const server = await startServing('classifier.onnx', { SISKIN_POD_IP: '127.0.0.1', SISKIN_PEER_KEY_FILE: join(tmp.dir, 'key'), SISKIN_AUTH_TOKEN_FILE: join(tmp.dir, 'tokens') });
      await server.serving.app.listen({ host: '127.0.0.1', port: 0 });
      replicas.push({ server, base: `http://127.0.0.1:${(server.serving.app.server.address() as AddressInfo).port}` });
    }
    decoy = createServer((s) => {
      decoyConnections++;
      s.destroy();
    });
    await new Promise<void>((resolve) => decoy!.listen(0, '127.0.0.1', resolve));
  });

  afterAll(async () => {
    await Promise.allSettled([...replicas.map((r) => r.server.close()), new Promise((resolve) => decoy?.close(resolve))]);
    tmp.remove();
  });

  test('labels posted to any replica are scored by the one that made the prediction', async () => {
    const preds: Prediction[] = [];
    for (let i = 0; i < 200; i++) preds.push(await predict(replicas[i % 4]!, ROWS[i % ROWS.length]!, i % 4));
    // Every third label is wrong, so "correct" proves the owner compared, not just counted.
    const labels = preds.map((p, i) => ({ id: p.id, label: i % 3 === 0 ? [p.labels[0]! + 1] : p.labels }));
    const before = await Promise.all(replicas.map((r) => counter(r, 'scored')));
    // In four batches, each to another replica than most of its predictions came from.
    const answers = [];
    for (let b = 0; b < 4; b++) answers.push(await postLabels(replicas[b]!, labels.slice(b * 50, (b + 1) * 50)));
    for (const a of answers) expect(a).toEqual({ status: 200, body: expect.objectContaining({ unknown: 0, unknown_ids: [], mismatched_ids: [] }) });
    expect(answers.reduce((n, a) => n + (a.body.scored as number), 0)).toBe(200);
    expect(answers.reduce((n, a) => n + (a.body.correct as number), 0)).toBe(200 - Math.ceil(200 / 3));
    // Each replica scored exactly the predictions it made (50 each).
    const after = await Promise.all(replicas.map((r) => counter(r, 'scored')));
    expect(after.map((n, i) => n - before[i]!)).toEqual([50, 50, 50, 50]);
    // A label is consumed once, wherever it is posted again.
    expect((await postLabels(replicas[2]!, labels.slice(0, 4))).body).toMatchObject({ scored: 0, unknown: 4 });
  });

  test('feedback needs the same token as inference', async () => {
    const p = await predict(replicas[0]!, ROWS[0]!, 0);
    expect((await postLabels(replicas[1]!, [{ id: p.id, label: p.labels }], { 'content-type': 'application/json' })).status).toBe(401);
    expect((await postLabels(replicas[1]!, [{ id: p.id, label: p.labels }])).body).toMatchObject({ scored: 1 });
  });

  test('an id naming an address the key did not sign is unknown, and nothing is sent there', async () => {
    const real = (await predict(replicas[0]!, ROWS[0]!, 0)).id;
    const dot = real.lastIndexOf('.');
    const [payload, mac] = real.slice(0, dot).split('~') as [string, string];
    const nonce = Buffer.from(payload, 'base64url').toString().split('/')[1]!;
    const decoyAddress = `127.0.0.1:${(decoy!.address() as AddressInfo).port}`;
    const forgedPayload = Buffer.from(`${decoyAddress}/${nonce}`).toString('base64url');
    const forged = [`${forgedPayload}~${mac}.0`, `${forgedPayload}.0`, `${forgedPayload}~${'A'.repeat(22)}.0`];
    const a = await postLabels(replicas[1]!, forged.map((id) => ({ id, label: [1] })));
    expect(a).toEqual({ status: 200, body: expect.objectContaining({ scored: 0, unknown: 3, unknown_ids: forged }) });
    expect(decoyConnections).toBe(0);
  });

  test('labels of a replica that is gone come back unknown and are counted unreachable', async () => {
    const p = await predict(replicas[3]!, ROWS[1]!, 3);
    const q = await predict(replicas[0]!, ROWS[1]!, 0);
    await replicas[3]!.server.close();
    const before = await counter(replicas[1]!, 'unreachable');
    const a = await postLabels(replicas[1]!, [{ id: p.id, label: p.labels }, { id: q.id, label: q.labels }]);
    expect(a).toEqual({ status: 200, body: expect.objectContaining({ scored: 1, unknown: 1, unknown_ids: [p.id] }) });
    expect((await counter(replicas[1]!, 'unreachable')) - before).toBe(1);
  });
});
