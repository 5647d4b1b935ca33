/**
 * Head/middle/tail groups that a split leaves empty, and why: the group thresholds
 * (eval.thresholds) against the split's per-class counts. An empty group reports '-' in every
 * table, which reads like a failure of the method; a run warns up front instead.
 */
import type { GroupThresholds } from './types.js';

export function emptyGroupWarnings(classCounts: number[], t: GroupThresholds, maxPerClass?: number | null): string[] {
  if (classCounts.length === 0) return [];
  const max = Math.max(...classCounts);
  const min = Math.min(...classCounts);
  const out: string[] = [];
  const cap = maxPerClass != null ? ` (dataset.maxPerClass ${maxPerClass} caps it)` : '';
  if (max <= t.head) out.push(`the head group is empty: head classes need more than ${t.head} training images (eval.thresholds.head), the largest class has ${max}${cap}; lower eval.thresholds.head or raise the class sizes`);
  if (min >= t.tail) out.push(`the tail group is empty: tail classes need fewer than ${t.tail} training images (eval.thresholds.tail), the smallest class has ${min}; raise eval.thresholds.tail or the imbalance ratio`);
  if (!classCounts.some((n) => n >= t.tail && n <= t.head)) out.push(`the middle group is empty: no class has between ${t.tail} and ${t.head} training images (eval.thresholds); counts run from ${min} to ${max}`);
  return out;
}
