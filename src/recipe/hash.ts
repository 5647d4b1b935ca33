/**
 * Recipe hashing. The hash covers what changes the result: not the display name, description,
 * output directory or data root (run ids ignore where things are stored; docs/architecture.md, "Run ids").
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
  // Where the lists are and how many threads decode them do not change the result (the split
  // checksum covers the lists' content); the defaults hash as if absent, so older recipes keep their ids.
  const { root: _r, lists: _l, workers: _w, prefetch: _p, ...dataset } = rest.dataset;
  if (dataset.badImages === 'error') delete dataset.badImages;
  const { accumulate, epochLength, precision, ...train } = rest.train;
  // The epoch length only matters for the class-aware sampler (the others yield N per epoch). There
  // it always hashes, so CB runs made before the key existed (the sampler's length) keep other ids.
  const cbLength = train.sampler === 'class-balanced' ? { epochLength: epochLength ?? 'dataset' } : {};
  // Test distributions only add evaluations of the trained model.
  const { testDistributions: _td, ...evaluation } = rest.eval;
  // fp32, the default, hashes as if absent: runs made before the key existed keep their ids.
  const reduced = precision === undefined || precision === 'fp32' ? {} : { precision };
  return { ...rest, dataset, eval: evaluation, train: { ...train, ...cbLength, ...reduced, ...(accumulate === undefined || accumulate === 1 ? {} : { accumulate }) } };
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

export function recipeHash(recipe: Recipe): string {
  return sha256(canonicalJson(semanticRecipe(recipe)));
}
