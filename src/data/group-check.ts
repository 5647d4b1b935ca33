/**
 * Head/middle/tail groups that a split leaves empty, and why: the group thresholds
 * (eval.thresholds) against the long-tailed split's per-class counts. An empty group reports '-'
 * in every table, which reads like a failure of the method; a run warns up front instead.
 */
import type { Group, GroupThresholds } from './types.js';

/**
 * `groups` decide (a balanced twin keeps its LT split's groups); `ltCounts` explain, when known
 * (null for a balanced twin, whose own counts are all equal).
 */
export function emptyGroupWarnings(groups: Group[], ltCounts: number[] | null, t: GroupThresholds, maxPerClass?: number | null): string[] {
  if (groups.length === 0) return [];
  const has = (g: Group) => groups.includes(g);
  const max = ltCounts ? Math.max(...ltCounts) : null;
  const min = ltCounts ? Math.min(...ltCounts) : null;
  const cap = maxPerClass != null ? ` (dataset.maxPerClass ${maxPerClass} caps it)` : '';
  const out: string[] = [];
  if (!has('head'))
    out.push(`the head group is empty: head classes need more than ${t.head} training images (eval.thresholds.head), ${max !== null ? `the largest class has ${max}${cap}` : 'and no class of the long-tailed split does'}; lower eval.thresholds.head or raise the class sizes`);
  if (!has('tail'))
    out.push(`the tail group is empty: tail classes need fewer than ${t.tail} training images (eval.thresholds.tail), ${min !== null ? `the smallest class has ${min}` : 'and no class of the long-tailed split does'}; raise eval.thresholds.tail or the imbalance ratio`);
  if (!has('middle'))
    out.push(`the middle group is empty: no class has between ${t.tail} and ${t.head} training images (eval.thresholds)${min !== null ? `; counts run from ${min} to ${max}` : ''}`);
  return out;
}
