// The reference profile: per-feature bins and shares computed from the training data,
// written next to the model (JSON). It is what "drift" is measured against and what says
// whether a feature may be NaN/Inf.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

const bins = {
  /** Sorted bin edges; k edges make k+1 bins. */
  edges: z.array(z.number()).min(1),
  /** Share of training rows in each bin (k+1 numbers). */
  expected: z.array(z.number().min(0)),
};

const featureSchema = z
  .object({
    name: z.string().min(1).max(128),
    /** Model input holding the feature. */
    input: z.string().min(1),
    /** Column in the input's last dimension (ignored for rank-1 inputs). */
    index: z.number().int().min(0).default(0),
    ...bins,
    allowNaN: z.boolean().default(false),
    allowInf: z.boolean().default(false),
  })
  .refine((f) => f.expected.length === f.edges.length + 1, 'expected must have one more entry than edges')
  .refine((f) => f.edges.every((e, i) => i === 0 || e > f.edges[i - 1]!), 'edges must be strictly increasing');

const predictionSchema = z.union([
  z.object({ kind: z.literal('classes'), expected: z.array(z.number().min(0)).min(1).max(1000) }),
  z
    .object({ kind: z.literal('values'), ...bins })
    .refine((p) => p.expected.length === p.edges.length + 1, 'expected must have one more entry than edges'),
]);

const profileSchema = z.object({
  features: z.array(featureSchema).max(1000),
  prediction: predictionSchema.optional(),
});

/** A validated reference profile. */
export type ReferenceProfile = z.infer<typeof profileSchema>;

/** One feature of a profile. */
export type FeatureProfile = ReferenceProfile['features'][number];

/** Validates a parsed profile; throws an Error listing every problem. */
export function parseProfile(raw: unknown): ReferenceProfile {
  const r = profileSchema.safeParse(raw);
  if (!r.success) {
    throw new Error(`invalid reference profile: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

/** Reads and validates a profile file. */
export async function loadProfile(path: string): Promise<ReferenceProfile> {
  return parseProfile(JSON.parse(await readFile(path, 'utf8')));
}
