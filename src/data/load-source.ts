/**
 * Finds and reads a recipe's dataset. Fashion-MNIST is looked for in --data-root, else the
 * recipe's dataset.root (only there, when either is given); otherwise in $LT_BENCH_DATA, the copy
 * vendored in datasets/fashion-mnist/, then Debian's /usr/share/datasets/fashion-mnist/. Each
 * place may hold the IDX files or a fashion-mnist/ folder with them.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';
import { syntheticSchema, type Recipe } from '../recipe/schema.js';
import { packageRoot } from '../version.js';
import { readFashionMnist } from './sources/idx.js';
import { makeSynthetic } from './sources/synthetic.js';
import type { SourceData } from './types.js';

const cache = new Map<string, SourceData>();

function hasIdx(dir: string): boolean {
  return existsSync(path.join(dir, 'train-images-idx3-ubyte.gz')) || existsSync(path.join(dir, 'train-images-idx3-ubyte'));
}

export function fashionMnistCandidates(dataRoot?: string, recipeRoot?: string | null): string[] {
  // An explicit root is the only place looked: falling back silently would train on other data.
  const explicit = dataRoot ?? recipeRoot ?? undefined;
  const roots = explicit ? [explicit] : process.env.LT_BENCH_DATA ? [process.env.LT_BENCH_DATA] : [];
  const dirs: string[] = [];
  for (const r of roots) dirs.push(path.join(r, 'fashion-mnist'), r);
  if (!explicit) dirs.push(path.join(packageRoot, 'datasets', 'fashion-mnist'), '/usr/share/datasets/fashion-mnist');
  return dirs.map((d) => path.resolve(d));
}

export function loadSource(recipe: Recipe, dataRoot?: string): SourceData {
  const ds = recipe.dataset;
  if (ds.name === 'synthetic') {
    const opts = syntheticSchema.parse(ds.synthetic ?? {});
    const key = `synthetic:${JSON.stringify(opts)}`;
    if (!cache.has(key)) cache.set(key, makeSynthetic(opts));
    return cache.get(key)!;
  }
  const candidates = fashionMnistCandidates(dataRoot, ds.root);
  const dir = candidates.find(hasIdx);
  if (!dir) {
    throw new DataError(
      `fashion-mnist: no train-images-idx3-ubyte(.gz) found; looked in:\n  ${candidates.join('\n  ')}\n` +
        `Pass --data-root DIR, set LT_BENCH_DATA, or install Debian's dataset-fashion-mnist package.`,
    );
  }
  const key = `fashion-mnist:${dir}`;
  if (!cache.has(key)) cache.set(key, readFashionMnist(dir));
  return cache.get(key)!;
}
