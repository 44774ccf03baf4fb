// The routing file: written by the operator into the model's routing ConfigMap, read by every
// serving pod from the mounted file (serving/shadow/watcher.ts). It says where stable servers
// mirror a sample of their requests during a rollout; `"shadow": null` means nowhere.
import { z } from 'zod';

/** Where the routing ConfigMap is mounted in a serving pod. */
export const ROUTING_MOUNT_DIR = '/etc/siskin/routing';

/** The ConfigMap key (and file name under ROUTING_MOUNT_DIR) of the routing file. */
export const ROUTING_FILE_KEY = 'routing.json';

/** The routing file's path inside a serving pod. */
export const ROUTING_FILE_PATH = `${ROUTING_MOUNT_DIR}/${ROUTING_FILE_KEY}`;

/** Defaults the serving runtime fills in for what the operator leaves out. */
export const SHADOW_DEFAULTS = { timeoutMs: 2000, maxConcurrency: 32, maxResponseBytes: 8 * 1024 * 1024 } as const;

/** Request header on every mirrored request, carrying the mirroring server's revision: the canary records it apart. */
export const MIRROR_HEADER = 'x-siskin-mirrored-from';

const IPV4_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
// RFC 1035 labels, as Service and namespace names are: a leading letter keeps numeric forms
// (`0x7f.1`, `1.2.3`) that URL parsers read as IPv4 addresses out of the name branch.
const DNS_LABEL = '[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?';
const HOST = `(?:${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}|${DNS_LABEL}(?:\\.${DNS_LABEL})*)`;
const SHADOW_URL = new RegExp(`^http://(${HOST})(?::([0-9]{1,5}))?$`);

/**
 * Whether a shadow URL is one the operator could have written: `http://` + an IPv4 address or
 * a cluster DNS name + an optional port, nothing else — no userinfo, path, query or fragment,
 * so a hand-edited file cannot send mirrored requests (and the pod's token) anywhere else.
 */
export function isShadowUrl(url: string): boolean {
  const m = SHADOW_URL.exec(url);
  if (m === null || m[1]!.length > 253) return false;
  return m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65_535);
}

const shadowSchema = z.object({
  url: z.string().refine(isShadowUrl, 'must be http://<IPv4 address or cluster DNS name>[:port] without path, query or userinfo'),
  sampleRate: z.number().min(0).max(1),
  revision: z.string().min(1).max(128),
  timeoutMs: z.number().int().min(1).max(60_000).default(SHADOW_DEFAULTS.timeoutMs),
  maxConcurrency: z.number().int().min(1).max(10_000).default(SHADOW_DEFAULTS.maxConcurrency),
  maxResponseBytes: z.number().int().min(1024).max(256 * 1024 * 1024).default(SHADOW_DEFAULTS.maxResponseBytes),
});

/** The file's schema; unknown top-level keys are kept (a newer operator may add some). */
export const routingFileSchema = z.object({ shadow: shadowSchema.nullish() }).loose();

/** Where to mirror traffic, as the serving runtime uses it (defaults filled in). */
export type ShadowTarget = z.output<typeof shadowSchema>;

/** What the operator states: the canary's base URL, the share mirrored, the canary's revision. */
export type ShadowRouting = Pick<ShadowTarget, 'url' | 'sampleRate' | 'revision'>;

/**
 * The routing file's text. Fields are picked one by one in a fixed order: the same input
 * always gives the same bytes, so an unchanged ConfigMap is never re-applied.
 */
export function serializeRouting(shadow: ShadowRouting | undefined): string {
  const routing = { shadow: shadow ? { url: shadow.url, sampleRate: shadow.sampleRate, revision: shadow.revision } : null };
  return `${JSON.stringify(routing)}\n`;
}

/** Validates a decoded routing document; an absent or null `shadow` means no mirroring. Throws on an invalid one. */
export function parseRoutingDocument(raw: unknown): ShadowTarget | undefined {
  const r = routingFileSchema.safeParse(raw ?? {});
  if (!r.success) throw new Error(`invalid routing file: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return r.data.shadow ?? undefined;
}
