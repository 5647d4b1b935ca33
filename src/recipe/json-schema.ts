/** The JSON Schema of recipes, generated from the same zod source that validates them. */
import { zodToJsonSchema } from 'zod-to-json-schema';
import { recipeSchema } from './schema.js';

export function recipeJsonSchema(): object {
  const schema = zodToJsonSchema(recipeSchema, { name: 'LtBenchRecipe', $refStrategy: 'none' }) as Record<string, any>;
  // Recipes may also name base pieces to merge.
  const def = schema.definitions.LtBenchRecipe;
  def.properties.extends = { description: 'base recipe(s) merged under this one', anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] };
  def.required = (def.required as string[]).filter((k) => k !== 'dataset' && k !== 'backbone' && k !== 'method' && k !== 'train');
  return schema;
}
