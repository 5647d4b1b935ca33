import type { Command } from 'commander';
import { recipeJsonSchema } from '../index.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the recipe JSON Schema (for editors; recipes/recipe.schema.json is generated from it)')
    .action(() => {
      process.stdout.write(`${JSON.stringify(recipeJsonSchema(), null, 2)}\n`);
    });
}
