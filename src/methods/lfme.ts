/**
 * LFME (Xiang, Ding & Han, "Learning From Multiple Experts: Self-paced Knowledge Distillation for
 * Long-tailed Classification", ECCV 2020). The official repository xiangly55/LFME has no training
 * code (README and shot files only), so this follows the paper; every choice it leaves open is
 * named below.
 *
 * Pipeline (each stage a run of its own, reused by hash):
 *  1–3. One expert per cardinality-adjacent class subset — many, median, low — trained with plain
 *       softmax CE on that subset's images only (same backbone, the recipe's budget; the head keeps
 *       all C outputs, the other classes never appear as labels).
 *  4.   The student, on all images: L = mean over the selected instances of
 *       CE + Σ_l w_l·1[y ∈ S_l]·T²·KL(softmax(z_E,l[S_l]/T) ‖ softmax(z[S_l]/T)),
 *       i.e. expert l's and the student's logits restricted to subset l's classes, softened by T,
 *       on the samples of subset l (T² keeps the gradient scale of Hinton et al.).
 *
 * Subsets: cut by LT training count, inclusively as the official shot file `ImageNet_shots.pkl`
 * (many 100–1280 images: 391 classes; median 21–99: 463; low 5–20: 146): many = n ≥ head,
 * median = tail < n < head, low = n ≤ tail, with head / tail from `cut` (default the recipe's
 * `eval.thresholds`: 100 / 20 on ImageNet-LT). That differs from the evaluation groups
 * (> 100 / < 20: 385/479/136). The balanced twin cuts by its long-tailed split's counts. An empty
 * subset is a recipe error (exit 2) naming the recipe and the key.
 *
 * Self-paced expert selection: after every epoch, Acc_M,l (the student) and Acc_E,l (expert l, its
 * run's last val evaluation) are the mean per-class val accuracy over subset l's classes; then
 * w_l = 1 while Acc_M,l ≤ α·Acc_E,l, else max(0, (Acc_E,l − Acc_M,l) / ((1 − α)·Acc_E,l)): linear
 * from 1 at α·Acc_E,l to 0 once the student matches the expert. w_l = 1 in the first epoch.
 *
 * Curriculum instance selection: within subset l the instances are ranked by expert l's
 * confidence on the true class (softmax over S_l), and only the easiest fraction f(e) trains,
 * f growing linearly from `curriculumStart` in the first epoch to 1 in the last.
 *
 * Choices the paper leaves open (or that could not be checked against the PDF):
 *  - T = 2, α = 0.6, curriculumStart = 0.5 (params).
 *  - The ranking is within each batch's instances of subset l (a random sample of it), not one
 *    ranking of the whole subset: the same expected fraction without an extra pass of every
 *    expert over the training set; the confidence is the expert's on the augmented view.
 *  - Selection drops the whole per-instance loss (CE and KD) of unselected instances.
 *  - Experts and student use the recipe's budget, sampler and schedule (the paper's OLTR code base
 *    and ResNet-10 are not the survey's setting).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { RecipeError } from '../errors.js';
import { softmaxLoss } from '../losses/softmax.js';
import type { Method, StepContext, SubsetRule } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const lfmeParams = z
  .object({
    temperature: z.number().positive().default(2).describe('KD temperature T'),
    alpha: z.number().min(0).lt(1).default(0.6).describe('self-paced expert selection: w_l = 1 while Acc_M ≤ α·Acc_E'),
    curriculumStart: z.number().gt(0).max(1).default(0.5).describe('curriculum: fraction of each subset (easiest first) used in the first epoch'),
    cut: z
      .object({ head: z.number().positive(), tail: z.number().nonnegative() })
      .strict()
      .optional()
      .describe('subset cut by training count: many n ≥ head, median tail < n < head, low n ≤ tail (default eval.thresholds)'),
  })
  .strict();

export type LfmeSubset = 'many' | 'median' | 'low';
export const LFME_SUBSETS: readonly LfmeSubset[] = ['many', 'median', 'low'];

/** The classes of one subset: inclusive cut (many n ≥ head, low n ≤ tail); empty is a recipe error naming the key. */
export function lfmeSubsetClasses(subset: LfmeSubset, classCounts: number[], cut: { head: number; tail: number }, where: { recipe: string; key: string }): number[] {
  const inSubset = (n: number) => (subset === 'many' ? n >= cut.head : subset === 'low' ? n <= cut.tail : n > cut.tail && n < cut.head);
  const classes = classCounts.flatMap((n, c) => (inSubset(n) ? [c] : []));
  if (classes.length === 0) {
    const range = subset === 'many' ? `≥ ${cut.head}` : subset === 'low' ? `≤ ${cut.tail}` : `in (${cut.tail}, ${cut.head})`;
    throw new RecipeError(
      `recipe ${where.recipe}: ${where.key}: LFME's '${subset}' subset (training count ${range}) is empty; the counts run from ${Math.min(...classCounts)} to ${Math.max(...classCounts)}: choose head/tail that leave every subset a class`,
      undefined,
      where.key,
    );
  }
  return classes;
}

function subsetRule(subset: LfmeSubset): SubsetRule {
  return {
    name: subset,
    select: ({ classCounts, params, thresholds, recipeName }) => {
      const cut = params.cut as { head: number; tail: number } | undefined;
      return lfmeSubsetClasses(subset, classCounts, cut ?? thresholds, { recipe: recipeName, key: cut ? 'method.params.cut' : 'eval.thresholds' });
    },
  };
}

/** Self-paced weight of an expert: 1 while accM ≤ α·accE, then (accE − accM)/((1−α)·accE), clipped at 0. */
export function expertWeight(accM: number, accE: number, alpha: number): number {
  if (accM <= alpha * accE) return 1;
  if (accE <= 0) return 0;
  return Math.max(0, (accE - accM) / ((1 - alpha) * accE));
}

/** Curriculum fraction of epoch e (0-based) of E: linear from `start` to 1 at the last epoch. */
export function curriculumFraction(epoch: number, epochs: number, start: number): number {
  if (epochs <= 1) return 1;
  return Math.min(1, start + ((1 - start) * epoch) / (epochs - 1));
}

/**
 * The instances that train: in each subset, the ⌈f·n⌉ of its n instances with the highest expert
 * confidence (ties: the earlier one); instances of no subset always train.
 */
export function curriculumMask(labels: ArrayLike<number>, confidence: ArrayLike<number>, subsetOf: (c: number) => number, fraction: number): Float32Array {
  const mask = new Float32Array(labels.length).fill(1);
  const bySubset = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = subsetOf(labels[i]);
    if (l < 0) continue;
    if (!bySubset.has(l)) bySubset.set(l, []);
    bySubset.get(l)!.push(i);
  }
  for (const idx of bySubset.values()) {
    const keep = Math.ceil(fraction * idx.length - 1e-9);
    const ranked = [...idx].sort((a, b) => confidence[b] - confidence[a] || a - b);
    for (const i of ranked.slice(keep)) mask[i] = 0;
  }
  return mask;
}

/** Per-sample T²·KL(softmax(t[S]/T) ‖ softmax(s[S]/T)) over the classes S of a subset: [B]. */
export function subsetKd(student: tf.Tensor2D, teacher: tf.Tensor2D, classes: number[], temperature: number): tf.Tensor1D {
  return tf.tidy(() => {
    const idx = tf.tensor1d(classes, 'int32');
    const s = tf.logSoftmax(tf.div(tf.gather(student, idx, 1), temperature));
    const t = tf.logSoftmax(tf.div(tf.gather(teacher, idx, 1), temperature));
    return tf.mul(tf.sum(tf.mul(tf.exp(t), tf.sub(t, s)), 1), temperature * temperature) as tf.Tensor1D;
  });
}

function meanOver(perClass: ArrayLike<number | null>, classes: number[]): number {
  const v = classes.map((c) => perClass[c]).filter((a): a is number => typeof a === 'number' && Number.isFinite(a));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0;
}

export const lfmeMethod: Method = {
  name: 'lfme',
  family: 'MI',
  tags: ['Ensemble'],
  summary: 'LFME: experts on many / median / low-shot subsets, a student distilled from them with self-paced expert weights and a curriculum.',
  citation: {
    paper: 'Xiang, Ding & Han, "Learning From Multiple Experts: Self-paced Knowledge Distillation for Long-tailed Classification", ECCV 2020',
    code: 'none public (xiangly55/LFME: README and ImageNet_shots.pkl only); follows the paper',
  },
  params: lfmeParams,
  table: { rows: [{ paper: 'LFME' }] },
  stages: [...LFME_SUBSETS.map((s) => ({ kind: 'train' as const, classSubset: subsetRule(s) })), { kind: 'distill', teachers: [0, 1, 2] }],
  create(setup) {
    const p = parseParams('lfme', lfmeParams, setup);
    const ce = softmaxLoss(setup.classCounts);
    let studentVal: number[] | undefined;
    return {
      beforeEpoch: ({ valPerClass }) => {
        studentVal = valPerClass;
      },
      loss: (output, labels, ctx: StepContext) => {
        // An expert (a subset stage): plain CE on its subset's images.
        if (!ctx.teachers) return logitsLoss(ce)(output, labels, ctx);
        const classes = ctx.teacherClasses!;
        const subsetOfClass = new Int32Array(setup.numClasses).fill(-1);
        classes.forEach((cs, l) => cs.forEach((c) => (subsetOfClass[c] = l)));
        const weights = classes.map((cs, l) => (studentVal ? expertWeight(meanOver(studentVal, cs), meanOver(ctx.teacherValPerClass?.[l] ?? [], cs), p.alpha) : 1));
        const fraction = curriculumFraction(ctx.epoch, ctx.epochs, p.curriculumStart);
        const y = labels.dataSync();
        const teacher = ctx.teacherLogits!(ctx.batch!.x);
        // Expert confidence on the true class, softmax over its subset's classes.
        const confidence = new Float32Array(y.length);
        classes.forEach((cs, l) => {
          const probs = tf.tidy(() => tf.softmax(tf.gather(teacher[l], tf.tensor1d(cs, 'int32'), 1)).arraySync() as number[][]);
          for (let i = 0; i < y.length; i++) if (subsetOfClass[y[i]] === l) confidence[i] = probs[i][cs.indexOf(y[i])];
        });
        const mask = curriculumMask(y, confidence, (c) => subsetOfClass[c], fraction);
        return tf.tidy(() => {
          const ceEach = tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), setup.numClasses), output.logits, undefined, undefined, tf.Reduction.NONE) as tf.Tensor1D;
          let perSample: tf.Tensor1D = ceEach;
          classes.forEach((cs, l) => {
            if (weights[l] === 0) return;
            const member = tf.tensor1d(Array.from(y, (c) => (subsetOfClass[c] === l ? weights[l] : 0)));
            perSample = tf.add(perSample, tf.mul(member, subsetKd(output.logits, teacher[l], cs, p.temperature)));
          });
          const m = tf.tensor1d(mask);
          return tf.div(tf.sum(tf.mul(m, perSample)), Math.max(1, mask.reduce((a, b) => a + b, 0))) as tf.Scalar;
        });
      },
      resolvedParams: { temperature: p.temperature, alpha: p.alpha, curriculumStart: p.curriculumStart, ...(p.cut ? { cut: p.cut } : {}) },
    };
  },
};
