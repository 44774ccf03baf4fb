// The routing file the operator writes into the model's ConfigMap during a rollout.
// YAML (JSON is YAML too):
//   shadow:
//     url: http://model-canary.ns.svc:8080   # base URL of the shadow server
//     sampleRate: 0.1                         # share of requests mirrored, 0..1
//     revision: "2"                           # shadow revision, used as a metric label
//     timeoutMs: 2000                         # optional
//     maxConcurrency: 32                      # optional
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';

const shadowSchema = z.object({
  url: z.string().refine((u) => /^https?:\/\/[^/]+/.test(u), 'must be an http(s) URL'),
  sampleRate: z.number().min(0).max(1),
  revision: z.string().min(1).max(128),
  timeoutMs: z.number().int().min(1).max(60_000).default(2000),
  maxConcurrency: z.number().int().min(1).max(10_000).default(32),
});

const routingSchema = z.object({ shadow: shadowSchema.nullish() }).loose();

/** Where to mirror traffic, if anywhere. */
export type ShadowTarget = z.infer<typeof shadowSchema>;

/** Parses routing file text; an absent or null `shadow` means no mirroring. */
export function parseRouting(text: string): ShadowTarget | undefined {
  const raw: unknown = text.trim() === '' ? {} : parse(text);
  const r = routingSchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`invalid routing file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data.shadow ?? undefined;
}

/** Reads and parses a routing file; a missing file means no mirroring. */
export async function readRouting(path: string): Promise<ShadowTarget | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRouting(text);
}
