/**
 * `run --dry-run`: the resolved recipe, its hash, the run id and what `run` would do with it, and
 * the balanced reference runs it would train — without training. Everything but the YAML is a
 * `#` comment, so the output stays a valid recipe. The run id hashes the split, so without the
 * data it is replaced by why it cannot be known.
 */
import { stringify as yamlStringify } from 'yaml';
import { emptyGroupWarnings, ltResolvedParams, needsReferences, planRun, recipeHash, recipeSplit, referenceRecipes, type Recipe, type RunOptions } from '../index.js';

function firstLine(e: unknown): string {
  return ((e as Error).message ?? String(e)).split('\n')[0];
}

export function describeDryRun(recipe: Recipe, file: string | null, opts: Pick<RunOptions, 'output' | 'dataRoot'>): string {
  const out = [`# ${file ?? '(recipe)'}`, `# recipe hash ${recipeHash(recipe)}`];
  let plan: ReturnType<typeof planRun> | null = null;
  try {
    plan = planRun(recipe, opts);
    out.push(`# run id ${plan.runId}: ${plan.action} (${plan.dir})`);
    const split = recipeSplit(recipe, opts.dataRoot);
    for (const w of emptyGroupWarnings(split.groups, split.balanced ? null : split.classCounts, recipe.eval.thresholds, recipe.dataset.maxPerClass)) out.push(`# warning: ${w}`);
  } catch (e) {
    out.push(`# run id: needs the data (it hashes the split): ${firstLine(e)}`);
  }
  if (needsReferences(recipe)) {
    if (!plan) out.push('# reference runs (balanced twin, for UA/RA): plain softmax and this method; their ids need the data too');
    else {
      try {
        const refs = referenceRecipes(recipe, ltResolvedParams(recipe, plan.record, opts));
        const v = planRun(refs.vanilla, opts);
        const b = planRun(refs.method, opts);
        out.push('# reference runs (balanced twin, for UA/RA):');
        out.push(`#   A_v ${v.runId}: ${v.action} (${refs.vanilla.name}, plain softmax)`);
        out.push(b.runId === v.runId ? `#   A_b the same run (the method is plain softmax)` : `#   A_b ${b.runId}: ${b.action} (${refs.method.name})`);
      } catch (e) {
        out.push(`# reference runs: cannot be planned: ${firstLine(e)}`);
      }
    }
  } else out.push('# reference runs: none (UA/RA need reference: auto on a long-tailed split)');
  return `${out.join('\n')}\n${yamlStringify(recipe)}`;
}
