// The routing file the operator writes into the model's ConfigMap during a rollout; its
// schema is the operator's too (contract/routing.ts). YAML (JSON is YAML too):
//   shadow:
//     url: http://10.96.140.7                 # http://<IPv4 or cluster DNS name>[:port], nothing else
//     sampleRate: 0.1                         # share of requests mirrored, 0..1
//     revision: "2"                           # shadow revision, used as a metric label
//     timeoutMs: 2000                         # optional
//     maxConcurrency: 32                      # optional
//     maxResponseBytes: 8388608               # optional
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { parseRoutingDocument, type ShadowTarget } from '../../contract/routing.ts';

/** Where to mirror traffic, if anywhere (the contract's type, for the mirror and the watcher). */
export type { ShadowTarget } from '../../contract/routing.ts';

/** Parses routing file text; an absent or null `shadow` means no mirroring. */
export function parseRouting(text: string): ShadowTarget | undefined {
  return parseRoutingDocument(text.trim() === '' ? {} : parse(text));
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
