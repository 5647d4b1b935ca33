/**
 * `run --dry-run`: the resolved recipe, its hash, the run id and what `run` would do with it, and
 * the balanced reference runs it would train — without training. Everything but the YAML is a
 * `#` comment, so the output stays a valid recipe. The run id hashes the split, so without the
 * data it is replaced by why it cannot be known.
 */
import { stringify as yamlStringify } from 'yaml';
import { emptyGroupWarnings, needsReferences, planRecipe, recipeHash, recipeSplit, type Recipe, type RecipePlan, type RunOptions } from '../index.js';

function firstLine(e: unknown): string {
  return ((e as Error).message ?? String(e)).split('\n')[0];
}

export function describeDryRun(recipe: Recipe, file: string | null, opts: Pick<RunOptions, 'output' | 'dataRoot'>): string {
  const out = [`# ${file ?? '(recipe)'}`, `# recipe hash ${recipeHash(recipe)}`];
  let plan: RecipePlan | null = null;
  try {
    plan = planRecipe(recipe, opts);
    out.push(`# run id ${plan.main.runId}: ${plan.main.action} (${plan.main.dir})`);
    const split = recipeSplit(recipe, opts.dataRoot);
    for (const w of emptyGroupWarnings(split.groups, split.balanced ? null : split.classCounts, recipe.eval.thresholds, recipe.dataset.maxPerClass)) out.push(`# warning: ${w}`);
  } catch (e) {
    out.push(`# run id: needs the data (it hashes the split): ${firstLine(e)}`);
  }
  for (const r of plan?.runs.filter((x) => x.role === 'stage1') ?? []) out.push(`# stage-1 run ${r.runId}: ${r.action}`);
  if (needsReferences(recipe)) {
    if (!plan?.references) out.push('# reference runs (balanced twin, for UA/RA): plain softmax and this method; their ids need the data too');
    else {
      const v = plan.runs.find((r) => r.runId === plan!.references!.vanilla)!;
      const b = plan.runs.find((r) => r.runId === plan!.references!.method)!;
      out.push('# reference runs (balanced twin, for UA/RA):');
      out.push(`#   A_v ${v.runId}: ${v.action} (${v.recipe.name}, plain softmax)`);
      out.push(b.runId === v.runId ? `#   A_b the same run (the method is plain softmax)` : `#   A_b ${b.runId}: ${b.action} (${b.recipe.name})`);
    }
  } else out.push('# reference runs: none (UA/RA need reference: auto on a long-tailed split)');
  return `${out.join('\n')}\n${yamlStringify(recipe)}`;
}
