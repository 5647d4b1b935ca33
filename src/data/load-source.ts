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
import { CifarFormatError, loadCifarSync } from './sources/cifar.js';
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

/** The datasets read into memory (the rest are image lists, read on demand). */
export const IN_MEMORY_DATASETS = ['fashion-mnist', 'cifar10', 'cifar100', 'synthetic'] as const;
export type InMemoryDataset = (typeof IN_MEMORY_DATASETS)[number];

export function loadSource(recipe: Recipe, dataRoot?: string): SourceData {
  const ds = recipe.dataset;
  return loadDataset(ds.name as InMemoryDataset, { dataRoot, recipeRoot: ds.root, synthetic: ds.synthetic });
}

/**
 * An in-memory dataset by name: `dataRoot` (--data-root), else `recipeRoot` (dataset.root), else
 * $LT_BENCH_DATA (and, for Fashion-MNIST, the copies looked for by fashionMnistCandidates).
 */
export function loadDataset(name: InMemoryDataset, opts: { dataRoot?: string; recipeRoot?: string | null; synthetic?: unknown } = {}): SourceData {
  if (name === 'synthetic') {
    const synth = syntheticSchema.parse(opts.synthetic ?? {});
    const key = `synthetic:${JSON.stringify(synth)}`;
    if (!cache.has(key)) cache.set(key, makeSynthetic(synth));
    return cache.get(key)!;
  }
  if (name === 'cifar10' || name === 'cifar100') {
    const root = opts.dataRoot ?? opts.recipeRoot ?? process.env.LT_BENCH_DATA;
    if (!root) throw new DataError(`${name}: no dataset location; pass --data-root DIR, set dataset.root or LT_BENCH_DATA to the folder holding the binary version (${name === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary'})`);
    const key = `${name}:${path.resolve(root)}`;
    if (!cache.has(key)) {
      try {
        cache.set(key, loadCifarSync({ root, variant: name }));
      } catch (e) {
        if (e instanceof CifarFormatError) throw new DataError(e.message, e.file);
        throw e;
      }
    }
    return cache.get(key)!;
  }
  const candidates = fashionMnistCandidates(opts.dataRoot, opts.recipeRoot);
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
