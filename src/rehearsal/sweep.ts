/**
 * `sweep --rehearse`: the sweep's jobs shrunk by the rehearsal rule (./shrink.ts) onto the
 * synthetic ImageNet-LT (./dataset.ts), generated on first use, with results kept apart in
 * results/rehearsal/ unless a results directory is given.
 */
import path from 'node:path';
import type { SweepJob, SweepOptions } from '../sweep.js';
import { packageRoot } from '../version.js';
import { ensureRehearsalDataset } from './dataset.js';
import { DEFAULT_REHEARSAL_RESULTS, defaultRehearsalDataDir, rehearseRecipe } from './shrink.js';

/** What `sweep --rehearse` runs when given no recipes: every shipped ImageNet-LT recipe. */
export function defaultRehearsalRecipes(): string[] {
  return [path.join(packageRoot, 'recipes', 'imagenet-lt', '**', '*.yaml')];
}

/**
 * Shrinks every job and points the sweep at the rehearsal dataset and results directory.
 * `opts.dataRoot` is where the dataset is generated or found (default: `<results>/dataset`).
 */
export async function rehearseSweep<O extends Pick<SweepOptions, 'dataRoot' | 'output'>>(
  jobs: SweepJob[],
  opts: O,
  log: (line: string) => void = () => {},
): Promise<{ jobs: SweepJob[]; opts: O }> {
  const output = opts.output ?? DEFAULT_REHEARSAL_RESULTS;
  const dataDir = opts.dataRoot ?? defaultRehearsalDataDir(output);
  const data = await ensureRehearsalDataset(dataDir);
  const m = data.info.manifest;
  log(
    `rehearsal: ${data.created ? 'generated' : 'using'} the synthetic ImageNet-LT in ${data.root} (${m.numClasses} classes, ${m.total} train images, head/middle/tail ${m.groups!.head}/${m.groups!.middle}/${m.groups!.tail}); results in ${path.resolve(output)}`,
  );
  return {
    jobs: jobs.map((j) => ({ ...j, recipe: rehearseRecipe(j.recipe, data, { file: j.file, output }) })),
    // The recipes carry the dataset root; a data root given to the runner would override it.
    opts: { ...opts, output, dataRoot: undefined },
  };
}
