/**
 * Test-agnostic evaluation (SADE, Zhang et al., NeurIPS 2022, "Self-Supervised Aggregation of
 * Diverse Experts for Test-Agnostic Long-Tailed Recognition"; github.com/Vanint/SADE-AgnosticLT):
 * besides the balanced test set, evaluate on long-tailed subsets of it whose imbalance follows
 * the training distribution (forward-ρ), is flat (uniform) or is the reverse (backward-ρ).
 *
 * Rule (SADE's `get_img_num_per_cls`): rank classes by training count, most images first (ties:
 * lower class index first); the class at rank r keeps ⌊n·ρ^(−r/(C−1))⌋ of its n test images
 * (backward: rank C−1−r). `uniform` is the whole balanced test set. Which images a class keeps is
 * a prefix of one seeded permutation of its test images (Rng(seed).fork('test-distributions'),
 * then one fork per class), so for a class a smaller subset keeps a subset of a larger one's images.
 * Scores come from stored per-sample predictions (src/eval/predictions.ts): overall = micro
 * accuracy on the subset, head / middle / tail = mean per-class accuracy within a group.
 */
import type { Group } from '../data/types.js';
import { DataError } from '../errors.js';
import { Rng } from '../rng.js';
import type { EvalMetrics } from '../results/types.js';
import { classificationMetrics } from './metrics.js';

/** The imbalance ratios SADE evaluates. */
export const TEST_DISTRIBUTION_RATIOS = [2, 5, 10, 25, 50] as const;

/** Every accepted name, forward (most skewed first), uniform, backward. */
export const TEST_DISTRIBUTION_NAMES = [
  ...[...TEST_DISTRIBUTION_RATIOS].reverse().map((r) => `forward-${r}`),
  'uniform',
  ...TEST_DISTRIBUTION_RATIOS.map((r) => `backward-${r}`),
] as readonly string[];

export interface TestDistribution {
  name: string;
  order: 'forward' | 'backward' | 'uniform';
  /** ρ = n_max / n_min of the subset (1 for uniform). */
  ratio: number;
}

export function parseTestDistribution(name: string): TestDistribution {
  if (name === 'uniform') return { name, order: 'uniform', ratio: 1 };
  const m = /^(forward|backward)-(\d+)$/.exec(name);
  if (!m || !TEST_DISTRIBUTION_NAMES.includes(name)) throw new Error(`unknown test distribution '${name}' (expected one of ${TEST_DISTRIBUTION_NAMES.join(', ')})`);
  return { name, order: m[1] as 'forward' | 'backward', ratio: Number(m[2]) };
}

/** Canonical order (forward-50 … uniform … backward-50), duplicates removed. */
export function sortDistributionNames(names: Iterable<string>): string[] {
  return [...new Set(names)].sort((a, b) => TEST_DISTRIBUTION_NAMES.indexOf(a) - TEST_DISTRIBUTION_NAMES.indexOf(b));
}

/** Classes from most to fewest training images; ties by class index. */
export function classRanks(classCounts: number[]): number[] {
  return classCounts.map((_, c) => c).sort((a, b) => classCounts[b] - classCounts[a] || a - b);
}

/** Test images each class keeps (index = class), n the test images per class. */
export function subsetSizes(classCounts: number[], n: number, d: TestDistribution): number[] {
  const C = classCounts.length;
  const sizes = new Array<number>(C).fill(n);
  if (d.order === 'uniform' || C < 2) return sizes;
  classRanks(classCounts).forEach((c, r) => {
    const rank = d.order === 'forward' ? r : C - 1 - r;
    sizes[c] = Math.floor(n * Math.pow(d.ratio, -rank / (C - 1)));
  });
  return sizes;
}

/**
 * Test images per class, checking the set is balanced (the rule assumes it). `where` names the
 * run or file in the error.
 */
export function balancedPerClass(labels: ArrayLike<number>, numClasses: number, where: string): number {
  const count = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < labels.length; i++) count[labels[i]]++;
  const n = count[0];
  const off = count.findIndex((k) => k !== n);
  if (off >= 0) throw new DataError(`${where}: test distributions need a balanced test set, but class 0 has ${n} test images and class ${off} has ${count[off]}`);
  return n;
}

/**
 * The subset of a balanced test set: positions into `labels` (sorted ascending), chosen per
 * class as the first `sizes[c]` of the class's seeded permutation.
 */
export function selectSubset(labels: ArrayLike<number>, classCounts: number[], d: TestDistribution, seed: number, where = 'test split'): Int32Array {
  const C = classCounts.length;
  const n = balancedPerClass(labels, C, where);
  const sizes = subsetSizes(classCounts, n, d);
  const byClass: number[][] = Array.from({ length: C }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  const rng = new Rng(seed).fork('test-distributions');
  const kept: number[] = [];
  for (let c = 0; c < C; c++) {
    // One permutation per class, whatever the distribution: nested subsets, independent classes.
    const perm = rng.fork(`class-${c}`).shuffle(byClass[c].slice());
    kept.push(...perm.slice(0, sizes[c]));
  }
  return Int32Array.from(kept.sort((a, b) => a - b));
}

/** The metrics of one test distribution, as run.json records them (`testDistributions`). */
export interface TestDistributionMetrics extends EvalMetrics {
  order: TestDistribution['order'];
  ratio: number;
  /** Seed of the per-class image choice. */
  seed: number;
  /** Where the predictions came from: the stored per-sample file, or a forward pass on the subset. */
  from: 'predictions' | 'forward-pass';
  /** Outputs of the method's test-unlabelled post-hoc steps, re-run on this subset (SADE's weights). */
  postHoc?: Record<string, unknown>;
}

/** Metrics on a subset (positions) from per-sample predictions and labels. */
export function subsetMetrics(pred: ArrayLike<number>, labels: ArrayLike<number>, positions: Int32Array, numClasses: number, groups: Group[]): EvalMetrics {
  const p = Int32Array.from(positions, (i) => pred[i]);
  const y = Int32Array.from(positions, (i) => labels[i]);
  return classificationMetrics(p, y, numClasses, groups);
}
