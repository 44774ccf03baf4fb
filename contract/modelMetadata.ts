// The model metadata answer (GET /v2/models/{name}, Open Inference Protocol v2): the serving
// runtime reports its model's signature in it, and the operator's schema gate compares the
// canary's with the stable one's.
import { z } from 'zod';

/** The `platform` the serving runtime reports. */
export const MODEL_PLATFORM = 'onnxruntime_onnx';

// Symbolic ONNX dims are reported as -1, as the protocol does; anything below that is no
// dimension at all.
const tensorSchema = z.object({
  name: z.string().min(1),
  datatype: z.string().min(1),
  shape: z.array(z.int().min(-1, 'dimensions are sizes, or -1 where dynamic')),
});

const tensorList = z.array(tensorSchema).superRefine((tensors, ctx) => {
  const seen = new Set<string>();
  for (const [i, t] of tensors.entries()) {
    if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate tensor name "${t.name}"` });
    seen.add(t.name);
  }
});

/** How the model was warmed up: `source` of the inputs, whether they ran, and the dynamic size that did. */
export const warmupReportSchema = z.object({
  source: z.enum(['sample', 'generated', 'none']),
  ok: z.boolean(),
  /** The size every non-batch dynamic dimension had in the generated inputs that ran. */
  dynamicSize: z.int().min(0).optional(),
  /** Why the generated warm-up failed (the model still serves; the canary analysis judges it). */
  message: z.string().optional(),
});

/** The warm-up report in the metadata answer (Siskin's extension; absent from other runtimes). */
export type WarmupReport = z.output<typeof warmupReportSchema>;

/**
 * The metadata answer. The protocol marks inputs and outputs optional, but Siskin's runtime
 * always sends them and the gate needs them: a missing list is invalid, never an empty (and
 * so "compatible") signature.
 */
export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()).optional(),
  platform: z.string(),
  inputs: tensorList,
  outputs: tensorList,
  warmup: warmupReportSchema.optional(),
});

/** One tensor of a signature; -1 is a dynamic dimension. */
export type TensorMetadata = z.output<typeof tensorSchema>;

/** The metadata answer as the serving runtime builds it. */
export type ModelMetadata = z.output<typeof modelMetadataSchema>;
