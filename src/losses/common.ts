/**
 * Building blocks shared by the losses: class priors, per-sample cross-entropy, reductions and
 * the class-balanced (effective-number) weights.
 *
 * tfjs autodiff constraints followed everywhere in src/losses: the comparison and logical kernels
 * (Equal, Greater, Less, Logical*) and StridedSlice have no registered gradient in tfjs 4.22, and a
 * kernel without one on the path to the loss throws "gradient function not found". So every mask
 * is built from the labels or from constants, never from a differentiated tensor, and the label's
 * entry is picked with a one-hot multiply + sum rather than a gather.
 */
import * as tf from '@tensorflow/tfjs';

/** Floor inside log(π + ε), as the survey codebase's PriorCELoss / LADELoss (1e-9). */
export const PRIOR_EPS = 1e-9;

/** Throws unless `classCounts` is a non-empty list of finite, non-negative numbers with a positive sum. */
export function checkClassCounts(classCounts: number[], who: string): void {
  if (!Array.isArray(classCounts) || classCounts.length === 0) {
    throw new Error(`${who}: classCounts must be a non-empty array of per-class training counts`);
  }
  for (let k = 0; k < classCounts.length; k++) {
    const n = classCounts[k];
    if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
      throw new Error(`${who}: classCounts[${k}] = ${String(n)} is not a non-negative finite number`);
    }
  }
  if (classCounts.reduce((a, b) => a + b, 0) <= 0) {
    throw new Error(`${who}: classCounts sum to 0`);
  }
}

/** Train prior π_k = n_k / Σn. */
export function classPrior(classCounts: number[]): number[] {
  const total = classCounts.reduce((a, b) => a + b, 0);
  return classCounts.map((n) => n / total);
}

/** log(π_k + ε) per class: the logit offset of Balanced Softmax, LADE and logit adjustment. */
export function logPrior(classCounts: number[], eps = PRIOR_EPS): number[] {
  return classPrior(classCounts).map((p) => Math.log(p + eps));
}

/**
 * Class-balanced weights of Cui et al. (2019): w_k = (1 − β) / (1 − β^{n_k}), normalised so that
 * Σ_k w_k = C (richardaecn/class-balanced-loss src/cifar_main.py; the same in LDAM-DRW's DRW).
 * β = 0 gives all ones. A class with n_k = 0 would get an infinite weight; it is given weight 0
 * before normalisation (it never occurs as a label in training anyway).
 */
export function classBalancedWeights(classCounts: number[], beta: number): number[] {
  const raw = classCounts.map((n) => (n > 0 ? (1 - beta) / (1 - Math.pow(beta, n)) : 0));
  const sum = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => (w / sum) * classCounts.length);
}

/** Labels as int32 (tf.oneHot needs int32 indices). Caller owns the result (use inside tidy). */
export function int32Labels(labels: tf.Tensor1D): tf.Tensor1D {
  return labels.dtype === 'int32' ? labels : tf.cast(labels, 'int32');
}

/** Float one-hot [N, C] of the labels. */
export function oneHotFloat(labels: tf.Tensor1D, numClasses: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(int32Labels(labels), numClasses), 'float32') as tf.Tensor2D;
}

/** Row vector [1, C] constant. */
export function rowConstant(values: number[]): tf.Tensor2D {
  return tf.tensor2d(values, [1, values.length], 'float32');
}

/** Per-sample cross-entropy −log softmax(z)_y, shape [N], via the stable tf.logSoftmax. */
export function crossEntropyPerSample(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), oneHot), 1)) as tf.Tensor1D;
}

/** Per-sample weights w_{y_i}, shape [N], from per-class weights. */
export function sampleWeights(classWeights: number[], oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(oneHot, rowConstant(classWeights)), 1) as tf.Tensor1D;
}

/** PyTorch's CrossEntropyLoss(weight=w) reduction: Σ w_i ℓ_i / Σ w_i. */
export function weightedMean(perSample: tf.Tensor1D, weights: tf.Tensor1D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(perSample, weights)), tf.sum(weights)) as tf.Scalar;
}

/** Checks the logits/labels pair and returns the number of classes. */
export function checkBatch(logits: tf.Tensor2D, labels: tf.Tensor1D, numClasses: number, who: string): void {
  if (logits.rank !== 2) throw new Error(`${who}: logits must be [batch, classes], got shape [${logits.shape}]`);
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`${who}: labels must be [batch] matching logits [${logits.shape}], got [${labels.shape}]`);
  }
  if (logits.shape[1] !== numClasses) {
    throw new Error(`${who}: logits have ${logits.shape[1]} classes but classCounts has ${numClasses}`);
  }
}

/**
 * Identity whose gradient is zero: PyTorch's `.detach()`. A native detach on the torch backend
 * (also under native autograd, which tf.customGrad never reaches), a customGrad elsewhere.
 */
export { stopGradient } from './stop-gradient.js';
