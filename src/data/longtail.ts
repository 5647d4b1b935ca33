/**
 * Long-tailed splits of an in-memory source, in the order the issue fixes:
 *  1. a balanced validation set is held out first from the train pool (valPerClass per class),
 *  2. the exponential profile n_i = floor(n_max · r^(−i/(C−1))) is applied to what remains
 *     (n_max = the smallest remaining class size unless the recipe caps it, class 0 the head),
 *  3. the balanced twin spreads the same total equally over the classes.
 * One seeded shuffle per class drives all three: val is its first valPerClass items, the LT
 * train set the next n_c, the balanced twin the next floor(total/C). So the twin contains a
 * class's LT images first and tops up from that class's other train images, never from val
 * (as BalFeat builds the ImageNet-LT balanced set).
 */
import { DataError } from '../errors.js';
import { sha256 } from '../recipe/hash.js';
import { Rng } from '../rng.js';
import type { Group, GroupThresholds, LongTailSplit, SourceData } from './types.js';

/** floor(nMax · ratio^(−i/(C−1))) for i = 0..C−1. */
export function exponentialCounts(nMax: number, numClasses: number, ratio: number): number[] {
  return Array.from({ length: numClasses }, (_, i) => {
    const v = numClasses === 1 ? nMax : nMax * Math.pow(ratio, -i / (numClasses - 1));
    // Guard against 59.999999 → 59 where the exact value is an integer.
    return Math.floor(v * (1 + 1e-12));
  });
}

/** head: count > thresholds.head; tail: count < thresholds.tail; middle otherwise. */
export function groupsFromCounts(counts: number[], t: GroupThresholds): Group[] {
  return counts.map((n) => (n > t.head ? 'head' : n < t.tail ? 'tail' : 'middle'));
}

export function groupSizes(groups: Group[]): { head: number; middle: number; tail: number } {
  const s = { head: 0, middle: 0, tail: 0 };
  for (const g of groups) s[g]++;
  return s;
}

export interface SplitOptions {
  profile: 'exponential' | 'none';
  imbalanceRatio: number;
  /** n_max of the exponential profile; default the smallest class size after the hold-out. */
  maxPerClass?: number | null;
  splitSeed: number;
  valPerClass: number;
  balanced: boolean;
  thresholds: GroupThresholds;
}

/** Indices of each class in the train pool, in index order. */
function indicesByClass(labels: Int32Array, numClasses: number): number[][] {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]].push(i);
  return byClass;
}

export function splitChecksum(train: Int32Array, val: Int32Array, test: Int32Array): string {
  const parts = [train, val, test].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex'));
  return sha256(parts.join('|'));
}

export function makeLongTailSplit(source: SourceData, opts: SplitOptions): LongTailSplit {
  const C = source.numClasses;
  const rng = new Rng(opts.splitSeed).fork('split');
  const shuffled = indicesByClass(source.train.labels, C).map((idx) => rng.shuffle(idx));
  const remaining = shuffled.map((idx) => idx.length - opts.valPerClass);
  const minRemaining = Math.min(...remaining);
  if (minRemaining <= 0) {
    const c = remaining.indexOf(minRemaining);
    throw new DataError(`${source.name}: class ${c} has ${shuffled[c].length} train images, too few to hold out ${opts.valPerClass} for validation`);
  }

  if (opts.maxPerClass != null && opts.maxPerClass > minRemaining) {
    throw new DataError(`${source.name}: dataset.maxPerClass ${opts.maxPerClass} exceeds the ${minRemaining} images the smallest class has after the validation hold-out`);
  }
  const nMax = opts.maxPerClass ?? minRemaining;
  const ltCounts = opts.profile === 'none' ? remaining.slice() : exponentialCounts(nMax, C, opts.imbalanceRatio);
  let counts = ltCounts;
  if (opts.balanced) {
    const total = ltCounts.reduce((a, b) => a + b, 0);
    const per = Math.floor(total / C);
    const short = remaining.findIndex((r) => r < per);
    if (short >= 0) {
      throw new DataError(`${source.name}: the balanced twin needs ${per} images of class ${short}, which has only ${remaining[short]} after the validation hold-out`);
    }
    counts = Array(C).fill(per);
  }

  const val: number[] = [];
  const train: number[] = [];
  shuffled.forEach((idx, c) => {
    val.push(...idx.slice(0, opts.valPerClass));
    train.push(...idx.slice(opts.valPerClass, opts.valPerClass + counts[c]));
  });
  const indices = {
    train: Int32Array.from(train),
    val: Int32Array.from(val),
    test: Int32Array.from({ length: source.test.count }, (_, i) => i),
  };
  return {
    indices,
    classCounts: counts,
    // Groups always come from the LT counts, so a balanced twin reports the same head/middle/tail.
    groups: groupsFromCounts(ltCounts, opts.thresholds),
    ltClassCounts: ltCounts,
    checksum: splitChecksum(indices.train, indices.val, indices.test),
    balanced: opts.balanced,
  };
}
