/**
 * Metrics, as the survey computes them: top-1 over the (balanced) evaluation set, per-class
 * accuracy, and head/middle/tail accuracy = the mean of per-class accuracies within a group.
 * UA = max(A_v, A_b) and RA = 100·A_t/UA (survey §4.1). Accuracies are percentages.
 */
import type { Group } from '../data/types.js';
import type { EvalMetrics, GroupAccuracy } from '../results/types.js';

/** Metrics from predicted and true labels. */
export function classificationMetrics(pred: Int32Array, labels: Int32Array, numClasses: number, groups: Group[]): EvalMetrics {
  if (pred.length !== labels.length) throw new Error(`classificationMetrics: ${pred.length} predictions for ${labels.length} labels`);
  const correct = new Float64Array(numClasses);
  const total = new Float64Array(numClasses);
  let hits = 0;
  for (let i = 0; i < labels.length; i++) {
    total[labels[i]]++;
    if (pred[i] === labels[i]) {
      correct[labels[i]]++;
      hits++;
    }
  }
  const perClass = Array.from(total, (t, c) => (t > 0 ? (100 * correct[c]) / t : NaN));
  return {
    top1: labels.length > 0 ? (100 * hits) / labels.length : NaN,
    perClass,
    groups: groupAccuracy(perClass, groups),
    count: labels.length,
  };
}

/** Mean per-class accuracy within each group; null for an empty group. Classes absent from the eval set are skipped. */
export function groupAccuracy(perClass: number[], groups: Group[]): GroupAccuracy {
  const sum = { head: 0, middle: 0, tail: 0 };
  const n = { head: 0, middle: 0, tail: 0 };
  perClass.forEach((acc, c) => {
    if (Number.isNaN(acc)) return;
    sum[groups[c]] += acc;
    n[groups[c]]++;
  });
  const mean = (g: Group) => (n[g] > 0 ? sum[g] / n[g] : null);
  return { head: mean('head'), middle: mean('middle'), tail: mean('tail') };
}

/** Upper-reference accuracy and relative accuracy (survey §4.1). */
export function upperAndRelative(testAcc: number, vanillaBalancedAcc: number, methodBalancedAcc: number): { ua: number; ra: number } {
  const ua = Math.max(vanillaBalancedAcc, methodBalancedAcc);
  return { ua, ra: (100 * testAcc) / ua };
}
