/**
 * SADE, a.k.a. TADE (Zhang et al., "Self-Supervised Aggregation of Diverse Experts for
 * Test-Agnostic Long-Tailed Recognition", NeurIPS 2022), following Vanint/SADE-AgnosticLT
 * (`model/loss.py` DiverseExpertLoss, `model/fb_resnets/Expert_ResNeXt.py`,
 * `test_training_imagenet.py` / `test_training_cifar.py`). The recipe name `tade` resolves to
 * `sade` before the run id is hashed (src/recipe/load.ts), so both share runs.
 *
 * Model: RIDE's expert model (src/models/expert-ensemble.ts): shared trunk, 3 experts at 3/4
 * width owning the last two stages, cosine classifiers × s = 30.
 *
 * Loss, prior π = n / N, ε = 1e-9:
 *   CE(z₁) + CE(z₂ + log(π + ε)) + CE(z₃ + log(π + ε) − λ·log(π̄ + ε)), λ = `tau` = 2,
 * with π̄ the inverted prior (`sadeInversePrior`). No DRW, no diversity term.
 *
 * Prediction: the mean of the expert logits (the survey's Table 5 cell). With
 * `testTimeAggregation: true` a post-hoc step reading the unlabelled test images learns the
 * aggregation weights (`sadeTestTimeAggregation`), and the prediction becomes Σ w_k z_k; the run
 * is then transductive.
 *
 * Deviations: the test-time step's two strong views are MoCo v2's geometric and blur ops applied
 * to the already-normalised test tensors (random-resized crop 0.2–1 / ratio 3/4–4/3, bilinear,
 * back to the image size; Gaussian blur p 0.5, σ 0.1–2; horizontal flip p 0.5). Colour jitter
 * and grayscale are left out: they need the raw 0–255 pixels, which the step does not see.
 * The step re-batches the images to `ttaBatchSize`; the last, smaller batch of an epoch is kept
 * (the official DataLoader keeps it too).
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { checkClassCounts, classPrior, crossEntropyPerSample, oneHotFloat, PRIOR_EPS, rowConstant } from '../losses/common.js';
import type { LossContext } from '../losses/types.js';
import { ExpertEnsemble, buildExpertEnsemble } from '../models/expert-ensemble.js';
import { Rng } from '../rng.js';
import { blurKernelSize, gaussianKernel1d, mocoCropBox, MOCOV2 } from '../data/view-mocov2.js';
import type { Method, MethodModel } from './types.js';
import { parseParams } from './setup.js';

export const sadeParams = z
  .object({
    widthFactor: z.number().positive().default(0.75).describe("width of the experts' stages (3/4)"),
    splitStage: z.number().int().min(1).nullable().default(null).describe('first stage the experts own; null: the last two stages'),
    scale: z.number().positive().default(30).describe('scale s of the cosine logits'),
    tau: z.number().nonnegative().default(2).describe('λ of expert 3: z₃ + log π − λ·log π̄'),
    testTimeAggregation: z.boolean().default(false).describe('learn the aggregation weights on the unlabelled test images (transductive)'),
    ttaLr: z.number().positive().default(0.025).describe('test-time SGD lr (ImageNet-LT 0.025, CIFAR 0.1)'),
    ttaMomentum: z.number().min(0).lt(1).default(0.9).describe('test-time SGD momentum (Nesterov)'),
    ttaWeightDecay: z.number().nonnegative().default(5e-4).describe('test-time weight decay'),
    ttaBatchSize: z.number().int().positive().default(128).describe('test-time batch size'),
    ttaEpochs: z.number().int().positive().default(5).describe('test-time epochs over the test images'),
    ttaStopBelow: z.number().min(0).max(1).default(0.05).describe('stop after an epoch in which a weight is below this'),
  })
  .strict();
export type SadeParams = z.input<typeof sadeParams>;

export const SADE_EXPERTS = 3;

/**
 * The inverted prior: the class at frequency rank r gets the prior of rank C−1−r. Ranks come
 * from a stable sort by count descending, so tied classes rank by class index (the lower index
 * first); e.g. counts [5, 5, 1] rank 0, 1, 2 and invert to the priors of [1, 5, 5].
 */
export function sadeInversePrior(classCounts: number[]): number[] {
  const prior = classPrior(classCounts);
  const order = classCounts.map((_, c) => c).sort((a, b) => classCounts[b] - classCounts[a] || a - b);
  const C = classCounts.length;
  const inverse = new Array<number>(C);
  order.forEach((c, r) => (inverse[c] = prior[order[C - 1 - r]]));
  return inverse;
}

/** The three experts' losses summed: CE(z₁) + CE(z₂ + log π) + CE(z₃ + log π − τ·log π̄). */
export function sadeLoss(classCounts: number[], tau = 2) {
  checkClassCounts(classCounts, 'sade');
  const C = classCounts.length;
  const logPi = classPrior(classCounts).map((p) => Math.log(p + PRIOR_EPS));
  const logInv = sadeInversePrior(classCounts).map((p) => Math.log(p + PRIOR_EPS));
  const offsets = [new Array<number>(C).fill(0), logPi, logPi.map((l, c) => l - tau * logInv[c])];
  return (experts: tf.Tensor2D[], labels: tf.Tensor1D, _ctx?: LossContext): tf.Scalar =>
    tf.tidy(() => {
      if (experts.length !== SADE_EXPERTS) throw new Error(`sade: expected ${SADE_EXPERTS} experts, got ${experts.length}`);
      const oneHot = oneHotFloat(labels, C);
      return tf.addN(experts.map((z, k) => tf.mean(crossEntropyPerSample(tf.add(z, rowConstant(offsets[k])) as tf.Tensor2D, oneHot)))) as tf.Scalar;
    });
}

/** −mean_i cos(softmax(Σ_k w_k z_k(view1_i)), softmax(Σ_k w_k z_k(view2_i))), w = softmax(a). */
export function sadeAggregationLoss(a: tf.Tensor1D, view1: tf.Tensor2D[], view2: tf.Tensor2D[]): tf.Scalar {
  return tf.tidy(() => {
    const w = tf.softmax(a);
    const agg = (zs: tf.Tensor2D[]) => tf.softmax(tf.addN(zs.map((z, k) => tf.mul(z, tf.gather(w, k)))) as tf.Tensor2D, 1);
    const p = agg(view1);
    const q = agg(view2);
    // torch CosineSimilarity: x·y / max(‖x‖‖y‖, 1e-8).
    const cos = tf.div(tf.sum(tf.mul(p, q), 1), tf.maximum(tf.mul(tf.norm(p, 2, 1), tf.norm(q, 2, 1)), 1e-8));
    return tf.neg(tf.mean(cos)) as tf.Scalar;
  });
}

/** The early-stop rule: stop after an epoch in which any weight is below `threshold`. */
export function sadeShouldStop(weights: number[], threshold = 0.05): boolean {
  return weights.some((w) => w < threshold);
}

export interface SadeAggregationOptions {
  lr?: number;
  momentum?: number;
  weightDecay?: number;
  batchSize?: number;
  epochs?: number;
  stopBelow?: number;
  /** Seed of the views' augmentation draws (default the model's initialisation seed). */
  seed?: number;
}

export interface SadeAggregationResult {
  /** softmax(a) after the last epoch run, expert 0 first. */
  weights: number[];
  /** The weights after each epoch. */
  history: number[][];
  epochsRun: number;
  stoppedEarly: boolean;
  images: number;
}

/** Images, or a function returning a fresh iterable of them per epoch (an async generator is consumed once). */
export type UnlabelledBatches = AsyncIterable<tf.Tensor4D> | (() => AsyncIterable<tf.Tensor4D>);

/**
 * SADE's test-time self-supervised aggregation on unlabelled image batches ([B, H, W, C], as the
 * evaluation feeds the model): 3 scalars a from 1/3, weights softmax(a), SGD (Nesterov) on
 * −cos(softmax(Σ w_k z_k)) between two strong views, model frozen and in inference mode (BN
 * running statistics). Starts from 1/3 on every call, so it can run once per test distribution.
 * Does not change the model; `applySadeAggregation` / the post-hoc step set the weights.
 * The caller owns (and may dispose after each yield) the batches.
 */
export async function sadeTestTimeAggregation(model: MethodModel, batches: UnlabelledBatches, options: SadeAggregationOptions = {}): Promise<SadeAggregationResult> {
  const o = { lr: 0.025, momentum: 0.9, weightDecay: 5e-4, batchSize: 128, epochs: 5, stopBelow: 0.05, ...options };
  const seed = o.seed ?? (model as Partial<ExpertEnsemble>).spec?.seed ?? 0;
  const rng = new Rng(seed).fork('sade-test-time-aggregation');
  const state: SadeAggregationState = { a: new Array<number>(SADE_EXPERTS).fill(1 / SADE_EXPERTS), buffer: null };
  const history: number[][] = [];
  let stoppedEarly = false;
  let images = 0;
  const weightsNow = () => softmaxOf(state.a);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    let seen = 0;
    for await (const x of rebatch(typeof batches === 'function' ? batches() : batches, o.batchSize)) {
      try {
        seen += x.shape[0];
        const [v1, v2] = tf.tidy(() => {
          const views = [strongView(x, rng), strongView(x, rng)];
          return views.map((v) => {
            const out = model.forward(v, false);
            if (!out.experts || out.experts.length !== SADE_EXPERTS) throw new Error(`sade: the model must give ${SADE_EXPERTS} expert logits`);
            return out.experts.map((z) => tf.keep(z));
          });
        });
        try {
          sadeAggregationStep(state, v1, v2, o);
        } finally {
          tf.dispose([...v1, ...v2]);
        }
      } finally {
        x.dispose();
      }
    }
    if (epoch > 0 && seen === 0) throw new Error('sade: the test batches could be iterated only once; pass a function that returns a fresh iterable per epoch');
    images = seen;
    const w = weightsNow();
    history.push(w);
    if (sadeShouldStop(w, o.stopBelow)) {
      stoppedEarly = epoch < o.epochs - 1;
      break;
    }
  }
  return { weights: history.length ? history[history.length - 1] : weightsNow(), history, epochsRun: history.length, stoppedEarly, images };
}

/** The aggregation's parameters a and its SGD momentum buffer (null before the first step). */
export interface SadeAggregationState {
  a: number[];
  buffer: number[] | null;
}

function softmaxOf(a: number[]): number[] {
  const m = Math.max(...a);
  const e = a.map((v) => Math.exp(v - m));
  const s = e.reduce((x, y) => x + y, 0);
  return e.map((v) => v / s);
}

/**
 * One step of torch.optim.SGD(nesterov=True) on a (three numbers, so in plain JS): g = ∇loss + wd·a,
 * buffer = μ·buffer + g (g on the first step), a ← a − lr·(g + μ·buffer). Returns the loss.
 */
export function sadeAggregationStep(state: SadeAggregationState, view1: tf.Tensor2D[], view2: tf.Tensor2D[], o: { lr: number; momentum: number; weightDecay: number }): number {
  const { value, grad } = tf.tidy(() => {
    const a = tf.tensor1d(state.a);
    const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => sadeAggregationLoss(t as tf.Tensor1D, view1, view2))(a);
    return { value: value.dataSync()[0], grad: Array.from(grad.dataSync()) };
  });
  const g = grad.map((gk, k) => gk + o.weightDecay * state.a[k]);
  state.buffer = state.buffer === null ? g : state.buffer.map((b, k) => o.momentum * b + g[k]);
  const buffer = state.buffer;
  state.a = state.a.map((ak, k) => ak - o.lr * (g[k] + o.momentum * buffer[k]));
  return value;
}

/** Sets the model's prediction to Σ w_k z_k (null: back to the mean); returns the previous weights. */
export function applySadeAggregation(model: MethodModel, weights: number[] | null): number[] | null {
  if (!(model instanceof ExpertEnsemble)) throw new Error('sade: aggregation weights need the expert model');
  return model.setAggregationWeights(weights);
}

/** Groups incoming batches into batches of `size` (the last may be smaller); yields tensors the consumer disposes. */
async function* rebatch(source: AsyncIterable<tf.Tensor4D>, size: number): AsyncGenerator<tf.Tensor4D> {
  let pending: tf.Tensor4D[] = [];
  let count = 0;
  try {
    for await (const x of source) {
      let start = 0;
      while (start < x.shape[0]) {
        const take = Math.min(size - count, x.shape[0] - start);
        pending.push(tf.slice(x, [start, 0, 0, 0], [take, -1, -1, -1]));
        count += take;
        start += take;
        if (count === size) {
          const out = pending.length === 1 ? pending[0] : (tf.concat(pending, 0) as tf.Tensor4D);
          if (pending.length > 1) tf.dispose(pending);
          pending = [];
          count = 0;
          yield out;
        }
      }
    }
    if (count > 0) {
      const out = pending.length === 1 ? pending[0] : (tf.concat(pending, 0) as tf.Tensor4D);
      if (pending.length > 1) tf.dispose(pending);
      pending = [];
      yield out;
    }
  } finally {
    tf.dispose(pending);
  }
}

/** One strong view of a normalised batch: MoCo v2's crop, blur and flip, each image's draws from `rng`. */
function strongView(x: tf.Tensor4D, rng: Rng): tf.Tensor4D {
  const [B, H, W, C] = x.shape;
  const boxes: number[] = [];
  const flips: boolean[] = [];
  const sigmas: Array<number | null> = [];
  for (let i = 0; i < B; i++) {
    const box = mocoCropBox(W, H, rng);
    // tf.image.cropAndResize boxes are [y1, x1, y2, x2] in normalised coordinates of pixel centres.
    boxes.push(box.top / Math.max(H - 1, 1), box.left / Math.max(W - 1, 1), (box.top + box.height - 1) / Math.max(H - 1, 1), (box.left + box.width - 1) / Math.max(W - 1, 1));
    sigmas.push(rng.next() < MOCOV2.blurP ? MOCOV2.sigma[0] + rng.next() * (MOCOV2.sigma[1] - MOCOV2.sigma[0]) : null);
    flips.push(rng.next() < MOCOV2.flipP);
  }
  return tf.tidy(() => {
    let v = tf.image.cropAndResize(x, tf.tensor2d(boxes, [B, 4]), tf.range(0, B, 1, 'int32') as tf.Tensor1D, [H, W], 'bilinear');
    const k = blurKernelSize(Math.min(H, W));
    const rows = tf.split(v, B, 0).map((img, i) => {
      let out = img as tf.Tensor4D;
      const sigma = sigmas[i];
      if (sigma !== null) out = blur(out, k, sigma, C);
      if (flips[i]) out = tf.reverse(out, 2);
      return out;
    });
    v = tf.concat(rows, 0) as tf.Tensor4D;
    return v;
  });
}

/** Separable Gaussian blur with reflect padding, per channel (depthwise). */
function blur(img: tf.Tensor4D, k: number, sigma: number, C: number): tf.Tensor4D {
  const kern = Array.from(gaussianKernel1d(k, sigma));
  const half = (k - 1) / 2;
  const padded = tf.mirrorPad(img, [[0, 0], [half, half], [half, half], [0, 0]], 'reflect');
  const kx = tf.tile(tf.tensor4d(kern, [1, k, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
  const ky = tf.tile(tf.tensor4d(kern, [k, 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
  return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, kx, 1, 'valid'), ky, 1, 'valid');
}

export const sadeMethod: Method = {
  name: 'sade',
  family: 'MI',
  tags: ['Ensemble'],
  // Runs with the test-time aggregation (transductive) are a row of their own, not mixed into the Table 5 cell.
  table: { rows: [{ paper: 'TADE' }], aliases: ['tade'], splitBy: { testTimeAggregation: false } },
  recipeAliases: ['tade'],
  summary: 'Shared trunk + 3 skill-diverse experts (CE, Balanced Softmax, inverse-prior); mean of the experts (optional test-time aggregation).',
  citation: {
    paper: 'Zhang et al., "Self-Supervised Aggregation of Diverse Experts for Test-Agnostic Long-Tailed Recognition", NeurIPS 2022',
    code: 'Vanint/SADE-AgnosticLT model/loss.py (DiverseExpertLoss), model/fb_resnets/Expert_ResNeXt.py, test_training_imagenet.py',
  },
  params: sadeParams,
  create(setup) {
    const p = parseParams('sade', sadeParams, setup);
    const loss = sadeLoss(setup.classCounts, p.tau);
    return {
      buildModel: (ctx) => buildExpertEnsemble(ctx, { experts: SADE_EXPERTS, widthFactor: p.widthFactor, splitStage: p.splitStage, scale: p.scale }),
      loss: (output, labels, ctx) => {
        if (!output.experts) throw new Error('sade: the model gave no expert logits');
        return loss(output.experts, labels, ctx);
      },
      ...(p.testTimeAggregation
        ? {
            postHoc: [
              {
                name: 'test-time-aggregation',
                reads: 'test-unlabelled' as const,
                async run(ctx) {
                  if (!ctx.testImages) throw new Error('sade: the test-time aggregation needs the unlabelled test images');
                  // Re-runnable: the prediction goes back to the mean while learning (not read here) and the weights start from 1/3.
                  applySadeAggregation(ctx.model, null);
                  const r = await sadeTestTimeAggregation(ctx.model, ctx.testImages, {
                    lr: p.ttaLr, momentum: p.ttaMomentum, weightDecay: p.ttaWeightDecay, batchSize: p.ttaBatchSize, epochs: p.ttaEpochs, stopBelow: p.ttaStopBelow,
                  });
                  applySadeAggregation(ctx.model, r.weights);
                  return { weights: r.weights, history: r.history, epochsRun: r.epochsRun, stoppedEarly: r.stoppedEarly, images: r.images };
                },
              },
            ],
          }
        : {}),
      resolvedParams: { prior: classPrior(setup.classCounts), inversePrior: sadeInversePrior(setup.classCounts) },
    };
  },
};
