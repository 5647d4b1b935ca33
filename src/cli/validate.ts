import type { Command } from 'commander';
import { loadRecipe, recipeHash } from '../index.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check recipes against the schema (exit 2 on the first invalid one); no training')
    .argument('<recipes...>', 'recipe YAML files')
    .option('--set <key=value>', 'override a recipe key (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action((files: string[], o: { set: string[] }) => {
      for (const f of files) {
        const { recipe } = loadRecipe(f, { sets: o.set });
        process.stdout.write(`ok  ${f}  (${recipe.method.name}, ${recipe.backbone.name}, ${recipe.train.epochs} epochs, hash ${recipeHash(recipe).slice(0, 12)})\n`);
      }
    });
}
