/**
 * Recipe hashing. The hash covers what changes the result: not the display name, description,
 * output directory or data root (ARCHITECTURE.md: run ids ignore where things are stored).
 */
import { createHash } from 'node:crypto';
import type { Recipe } from './schema.js';

/** JSON with sorted keys, so equal recipes hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function semanticRecipe(recipe: Recipe): unknown {
  // `reference` only schedules extra runs; it does not change this run.
  const { name: _n, description: _d, output: _o, reference: _ref, ...rest } = recipe;
  const { root: _r, ...dataset } = rest.dataset;
  return { ...rest, dataset };
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function recipeHash(recipe: Recipe): string {
  return sha256(canonicalJson(semanticRecipe(recipe)));
}
