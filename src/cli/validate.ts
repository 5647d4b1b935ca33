import type { Command } from 'commander';
import { epochsText, expandRecipeArgs, loadRecipe, LtBenchError, recipeHash, RecipeError } from '../index.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check recipes against the schema (every file given; exit 2 if any is invalid); no training')
    .argument('<recipes...>', "recipe files or quoted globs, e.g. 'recipes/fashion-lt/*.yaml'")
    .option('--set <key=value>', 'override a recipe key (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action(async (args: string[], o: { set: string[] }) => {
      // Each argument on its own, so one missing file or empty glob does not hide the others.
      const files: string[] = [];
      const bad: string[] = [];
      for (const a of args) {
        try {
          files.push(...(await expandRecipeArgs([a])));
        } catch (e) {
          if (!(e instanceof LtBenchError)) throw e;
          process.stderr.write(`lt-bench: ${e.message}\n`);
          bad.push(a);
        }
      }
      const unique = [...new Set(files)];
      const total = unique.length + bad.length;
      for (const f of unique) {
        try {
          const { recipe } = loadRecipe(f, { sets: o.set });
          process.stdout.write(`ok  ${f}  (${recipe.method.name}, ${recipe.backbone.name}, ${epochsText(recipe.train.epochs)}, hash ${recipeHash(recipe).slice(0, 12)})\n`);
        } catch (e) {
          if (!(e instanceof LtBenchError)) throw e;
          process.stderr.write(`lt-bench: ${e.message}\n`);
          bad.push(f);
        }
      }
      if (bad.length > 0) throw new RecipeError(`${bad.length} of ${total} recipe(s) invalid: ${bad.join(', ')}`);
    });
}
