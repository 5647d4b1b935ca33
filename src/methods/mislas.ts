/**
 * MiSLAS (Zhong et al., "Improving Calibration for Long-Tailed Recognition", CVPR 2021), following
 * the official code dvlab-research/MiSLAS (train_stage1.py, train_stage2.py, methods.py,
 * config/{imagenet,cifar10,cifar100}/*.yaml). Two stages, each a run of its own:
 *
 *  1. Instance-balanced softmax CE with mixup (`mixup_data` / `mixup_criterion`): x' = λx + (1−λ)x_π,
 *     loss λ·CE(y) + (1−λ)·CE(y_π), one λ ~ Beta(α, α) and one permutation π per step (α 0.2 on
 *     ImageNet, 1.0 on CIFAR); α = 0 turns mixup off (λ = 1, as the code).
 *  2. Started from stage 1's last weights (`from: 0`): the backbone frozen (the code runs it under
 *     no_grad), the stage-1 classifier W, b re-trained at `lrFactor` × the scheduled lr and a
 *     learnable weight scaling (LWS, one scale per class, init 1, applied to the logits W x + b) at
 *     the full lr, with the class-aware sampler, label-aware smoothing, no mixup, for
 *     `stage2Epochs` (10) epochs of N images each. `shiftBn` ("shift learning on BN", the code's
 *     `shift_bn`): the frozen backbone runs in train mode, so batch norm normalises with batch
 *     statistics and re-estimates its running mean / variance on the class-balanced batches while
 *     γ / β stay frozen; off, it runs in eval mode and nothing in the backbone changes.
 *
 * Label-aware smoothing (methods.py `LabelAwareSmoothing`, concave): with n₁ the largest and n_K
 * the smallest class count, ε_y = ε_K + (ε₁ − ε_K)·sin(π(n_y − n_K) / (2(n₁ − n_K))), and
 * ℓ = (1 − ε_y)·(−log p_y) + ε_y·mean_c(−log p_c): the ε_y/C of the uniform part also goes to the
 * ground-truth class (the code's quirk, its issue #4), so the true class gets 1 − ε_y + ε_y/C.
 * ε₁ = `smoothHead` (the head classes' ε, larger), ε_K = `smoothTail`.
 *
 * Defaults are the ImageNet-LT configs (imagenet_resnet50_stage{1_mixup,2_mislas}.yaml): α 0.2,
 * ε 0.3 / 0.0, shift_bn on, lr factor 0.05, 10 stage-2 epochs; CIFAR-100 IR100 is ε 0.4 / 0.1,
 * shift_bn on, lr factor 0.2; CIFAR-10 IR100 is ε 0.3 / 0.0, shift_bn off, lr factor 0.5 (both α 1.0).
 *
 * Deviations / choices:
 *  - Stage 2 trains `stage2Epochs` epochs of N class-aware draws each (the code breaks after
 *    ⌈N/B⌉ + 1 batches); its cosine runs per epoch over the stage's epochs with the recipe's
 *    optimiser (the code: lr 0.1, momentum 0.9, the stage-1 weight decay, also on the LWS scales).
 *  - Stage 2 starts from stage 1's `last` weights (the code resumes the checkpoint it is given).
 *  - With every class count equal (a balanced twin), the formula is 0/0 (the code gives NaN):
 *    every class gets ε₁.
 *  - The code reports head / medium / tail by index ranges of frequency-sorted classes
 *    (390/445/165 on ImageNet-LT); lt-bench reports the recipe's count thresholds like every row.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { LtModel } from '../models/model.js';
import type { Rng } from '../rng.js';
import type { Method, MethodInstance, TrainBatch } from './types.js';
import { parseParams } from './setup.js';

export const mislasParams = z
  .object({
    mixupAlpha: z.number().nonnegative().default(0.2).describe('stage-1 mixup Beta(α, α); 0.2 ImageNet, 1.0 CIFAR; 0 turns mixup off'),
    stage2Epochs: z.number().int().positive().default(10).describe('epochs of stage 2 (classifier + LWS re-training)'),
    smoothHead: z.number().min(0).max(1).default(0.3).describe('label-aware smoothing ε₁ of the largest class'),
    smoothTail: z.number().min(0).max(1).default(0.0).describe('label-aware smoothing ε_K of the smallest class'),
    shiftBn: z.boolean().default(true).describe('stage 2: re-estimate the frozen backbone\'s batch-norm running statistics on class-balanced batches'),
    lrFactor: z.number().positive().default(0.05).describe('stage 2: the classifier\'s lr factor (the LWS scales train at the full lr)'),
  })
  .strict();

/** ε_y of every class: ε_K + (ε₁ − ε_K)·sin(π(n_y − n_K)/(2(n₁ − n_K))); ε₁ for all when the counts are equal. */
export function labelAwareSmoothing(classCounts: number[], smoothHead: number, smoothTail: number): number[] {
  const n1 = Math.max(...classCounts);
  const nK = Math.min(...classCounts);
  if (n1 === nK) return classCounts.map(() => smoothHead);
  return classCounts.map((n) => smoothTail + (smoothHead - smoothTail) * Math.sin((Math.PI * (n - nK)) / (2 * (n1 - nK))));
}

/** Mean over the batch of (1 − ε_y)·(−log p_y) + ε_y·mean_c(−log p_c). */
export function labelAwareSmoothingLoss(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing: number[]): tf.Scalar {
  return tf.tidy(() => {
    const logp = tf.logSoftmax(logits);
    const eps = tf.gather(tf.tensor1d(smoothing), labels);
    const nll = tf.neg(tf.sum(tf.mul(logp, tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1])), 1));
    const uniform = tf.neg(tf.mean(logp, 1));
    return tf.mean(tf.add(tf.mul(tf.sub(1, eps), nll), tf.mul(eps, uniform))) as tf.Scalar;
  });
}

/** A Gamma(a, 1) draw (Marsaglia–Tsang; a < 1 boosted by U^(1/a)). */
function sampleGamma(rng: Rng, a: number): number {
  if (a < 1) return sampleGamma(rng, a + 1) * Math.pow(1 - rng.next(), 1 / a);
  const d = a - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = rng.normal();
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = 1 - rng.next();
    if (Math.log(u) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
  }
}

/** λ ~ Beta(α, α) from the seeded generator (mixup_data: np.random.beta); 1 when α = 0. */
export function sampleMixupLambda(rng: Rng, alpha: number): number {
  if (alpha <= 0) return 1;
  const x = sampleGamma(rng, alpha);
  const y = sampleGamma(rng, alpha);
  return x / (x + y);
}

/**
 * Mixup of a batch with the permutation `perm`: x' = λx + (1−λ)x[perm], soft targets
 * λ·e_y + (1−λ)·e_y[perm] (so soft-target CE is λ·CE(y) + (1−λ)·CE(y[perm])). Inside a tidy.
 */
export function mixupBatch(batch: TrainBatch, lambda: number, perm: Int32Array, numClasses: number): TrainBatch {
  const idx = tf.tensor1d(perm, 'int32');
  const x = tf.add(tf.mul(batch.x, lambda), tf.mul(tf.gather(batch.x, idx), 1 - lambda)) as tf.Tensor4D;
  const oneHot = tf.oneHot(tf.cast(batch.y, 'int32'), numClasses).toFloat();
  const targets = tf.add(tf.mul(oneHot, lambda), tf.mul(tf.gather(oneHot, idx), 1 - lambda)) as tf.Tensor2D;
  return { ...batch, x, targets, streams: [{ views: [x], y: batch.y }, ...batch.streams.slice(1)] };
}

/** Softmax CE against soft targets: −mean Σ_c t_c log p_c. */
export function softTargetCrossEntropy(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1))) as tf.Scalar);
}

/** Names of stage 2's classifier (W, b: `lrFactor`) and LWS scales (full lr); everything else is frozen. */
const CLASSIFIER = new Set(['fc.weight', 'fc.bias']);
const LWS_SCALES = 'fc.scales';

export const mislasMethod: Method = {
  name: 'mislas',
  family: 'MI',
  tags: ['CD', 'Aug'],
  summary: 'MiSLAS: mixup stage 1, then classifier + LWS re-training on the frozen backbone with class-aware sampling, label-aware smoothing and BN re-estimation.',
  citation: {
    paper: 'Zhong et al., "Improving Calibration for Long-Tailed Recognition", CVPR 2021',
    code: 'dvlab-research/MiSLAS (train_stage1.py, train_stage2.py, methods.py, config/*/*_stage{1_mixup,2_mislas}.yaml)',
  },
  params: mislasParams,
  // Stage 2 samples class-aware: that is the method, not a row of its own.
  table: { rows: [{ paper: 'MiSLAS' }], samplerSplits: false },
  // Stage 2: train_stage2.py's own cosine (no warm-up) over its epochs, whatever stage 1's schedule.
  stages: [{ kind: 'train' }, { kind: 'train', from: 0, epochsParam: 'stage2Epochs', schedule: { name: 'cosine', warmupEpochs: 0, minLr: 0 } }],
  create(setup) {
    const p = parseParams('mislas', mislasParams, setup);
    if (setup.stage === 1) return stage2(p, setup.classCounts);
    const numClasses = setup.numClasses;
    return {
      transformBatch: (batch, ctx) => {
        if (p.mixupAlpha <= 0) return batch;
        if (!ctx.rng) throw new Error('mislas: mixup needs the step\'s seeded generator');
        const lambda = sampleMixupLambda(ctx.rng, p.mixupAlpha);
        const perm = ctx.rng.shuffle(Int32Array.from({ length: batch.y.shape[0] }, (_, i) => i));
        return mixupBatch(batch, lambda, perm, numClasses);
      },
      loss: (output, labels, ctx) =>
        ctx.batch?.targets
          ? softTargetCrossEntropy(output.logits, ctx.batch.targets)
          : tf.tidy(() => softTargetCrossEntropy(output.logits, tf.oneHot(tf.cast(labels, 'int32'), numClasses).toFloat() as tf.Tensor2D)),
      resolvedParams: { stage: 1, mixupAlpha: p.mixupAlpha },
    };
  },
};

function stage2(p: z.output<typeof mislasParams>, classCounts: number[]): MethodInstance {
  const smoothing = labelAwareSmoothing(classCounts, p.smoothHead, p.smoothTail);
  return {
    head: 'lws',
    sampler: 'class-balanced',
    buildModel(ctx) {
      const model = new LtModel({ ...ctx, head: 'lws' });
      for (const name of model.store.trainable.keys()) if (!CLASSIFIER.has(name) && name !== LWS_SCALES) model.store.frozen.add(name);
      return model;
    },
    // shiftBn: the backbone in train mode (batch statistics, running statistics re-estimated; γ, β
    // are frozen above); off: eval mode. The head has no batch norm.
    forward: (model, batch) => model.forwardHead(model.forwardFeatures(batch.x, p.shiftBn), true),
    loss: (output, labels) => labelAwareSmoothingLoss(output.logits, labels, smoothing),
    paramGroups: () => [{ names: (n) => CLASSIFIER.has(n), lrFactor: p.lrFactor }],
    resolvedParams: { stage: 2, stage2Epochs: p.stage2Epochs, shiftBn: p.shiftBn, lrFactor: p.lrFactor, smoothing },
  };
}
