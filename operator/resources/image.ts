// The image's layout, shared by what builds it (scripts/build-dist.ts, the Dockerfile) and
// what runs it (the serving Deployment's args, the chart's operator args, the image tests):
// one image, two compiled entry points, each a JavaScript bundle under dist/.

/** A runtime entry point: its TypeScript source and the bundle the image runs. */
export interface EntryPoint {
  source: string;
  bundle: string;
}

/** The bundle path of a source file, relative to the repository root (and to /app in the image). */
export function bundlePathOf(source: string): string {
  if (!source.endsWith('.ts')) throw new Error(`${source}: an entry point is a .ts source file`);
  return `dist/${source.slice(0, -'.ts'.length)}.js`;
}

const entry = (source: string): EntryPoint => ({ source, bundle: bundlePathOf(source) });

/** The image's entry points; the operator is the image's default command. */
export const ENTRY_POINTS = {
  operator: entry('operator/main.ts'),
  serving: entry('serving/main.ts'),
} as const satisfies Record<string, EntryPoint>;
