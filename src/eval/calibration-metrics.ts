/**
 * Calibration of a run's predictions (issue #14): expected calibration error, negative
 * log-likelihood and the reliability-diagram data, from the softmax of the logits the method
 * predicts with (`predict`, post-hoc adjustments applied). This measures; it is not the post-hoc
 * `calibrate` step of a method (src/eval/calibrate.ts), which tunes a method on the val split.
 *
 * ECE as Guo et al. 2017 ("On Calibration of Modern Neural Networks") and their reference code:
 * M = 15 equal-width confidence bins (lo, hi] over [0, 1], confidence = the top softmax
 * probability, ECE = Σ_b (n_b / N)·|acc_b − conf_b|. NLL = mean of −ln softmax(z)_y (nats).
 * ECE, bin confidences and bin accuracies are percentages, like every accuracy in a record.
 */
import * as tf from '@tensorflow/tfjs';

export const CALIBRATION_BINS = 15;

/** One confidence bin of the reliability diagram. */
export interface ReliabilityBin {
  /** Bin edges, as fractions: the bin holds confidences in (lo, hi] (the first also 0). */
  lo: number;
  hi: number;
  count: number;
  /** Mean top-1 confidence of the bin's samples (%); null for an empty bin. */
  confidence: number | null;
  /** Accuracy of the bin's samples (%); null for an empty bin. */
  accuracy: number | null;
}

export interface CalibrationMetrics {
  /** Expected calibration error (%), 15 equal-width bins weighted by their size. */
  ece: number;
  /** Mean negative log-likelihood of the true class (nats). */
  nll: number;
  reliability: ReliabilityBin[];
}

/** The bin (0-based) of a confidence in [0, 1]: bins are (i/M, (i+1)/M], confidence 0 in the first. */
export function confidenceBin(confidence: number, bins = CALIBRATION_BINS): number {
  let b = Math.ceil(confidence * bins) - 1;
  b = Math.min(bins - 1, Math.max(0, b));
  // Compare against the edges as computed (i / M), so that a confidence equal to an edge lands
  // where the (lo, hi] rule puts it whatever the rounding of confidence · M.
  while (b > 0 && confidence <= b / bins) b--;
  while (b < bins - 1 && confidence > (b + 1) / bins) b++;
  return b;
}

/**
 * ECE, NLL and the reliability bins from per-sample top-1 confidence (fraction), whether the top-1
 * prediction was right, and −ln p(true class).
 */
export function calibrationFromSamples(confidence: ArrayLike<number>, correct: ArrayLike<boolean | number>, nll: ArrayLike<number>, bins = CALIBRATION_BINS): CalibrationMetrics {
  const n = confidence.length;
  if (correct.length !== n || nll.length !== n) throw new Error(`calibrationFromSamples: ${n} confidences, ${correct.length} correctness flags, ${nll.length} NLL values`);
  const count = new Float64Array(bins);
  const confSum = new Float64Array(bins);
  const hitSum = new Float64Array(bins);
  let nllSum = 0;
  for (let i = 0; i < n; i++) {
    const b = confidenceBin(confidence[i], bins);
    count[b]++;
    confSum[b] += confidence[i];
    if (correct[i]) hitSum[b]++;
    nllSum += nll[i];
  }
  let ece = 0;
  const reliability: ReliabilityBin[] = [];
  for (let b = 0; b < bins; b++) {
    const c = count[b];
    if (c > 0) ece += (c / n) * Math.abs(hitSum[b] / c - confSum[b] / c);
    reliability.push({ lo: b / bins, hi: (b + 1) / bins, count: c, confidence: c > 0 ? (100 * confSum[b]) / c : null, accuracy: c > 0 ? (100 * hitSum[b]) / c : null });
  }
  return { ece: n > 0 ? 100 * ece : NaN, nll: n > 0 ? nllSum / n : NaN, reliability };
}

/** Calibration of predicted logits [N, C] against labels: softmax confidence, top-1, −log-softmax of the label. */
export function calibrationMetrics(logits: tf.Tensor2D, labels: Int32Array, bins = CALIBRATION_BINS): CalibrationMetrics {
  if (logits.shape[0] !== labels.length) throw new Error(`calibrationMetrics: ${logits.shape[0]} rows of logits for ${labels.length} labels`);
  // Per-sample vectors only: never the [N, C] probabilities on the JS side (ImageNet-LT: 50k × 1000).
  const [conf, pred, nll] = tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const y = tf.tensor1d(labels, 'int32');
    const picked = tf.sum(tf.mul(logp, tf.oneHot(y, logits.shape[1])), 1);
    return [tf.exp(tf.max(logp, 1)), tf.argMax(logp, 1), tf.neg(picked)];
  });
  try {
    const p = pred.dataSync();
    return calibrationFromSamples(conf.dataSync(), Array.from(p, (v, i) => v === labels[i]), nll.dataSync(), bins);
  } finally {
    tf.dispose([conf, pred, nll]);
  }
}
