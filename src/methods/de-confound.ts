/**
 * De-confound-TDE (Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the
 * Bad Momentum Causal Effect", NeurIPS 2020; code KaihuaTang/Long-Tailed-Recognition.pytorch,
 * classification/models/CausalNormClassifier.py and run_networks.py). Single stage: softmax CE on
 * the causal-norm classifier (K = 2 heads, τ = 16, γ = 1/32), a moving average of the mean
 * feature during training, and the counterfactual (TDE) subtraction with α = 3 at test
 * (survey config causal.yaml; the official CIFAR configs use α = 1.5).
 * Deviation: μ is fixed (0.9, the official CIFAR behaviour); the official ImageNet runs scale it
 * with the learning rate. See src/models/heads/causal.ts.
 *
 * `alpha: val` (an lt-bench option) picks α from `alphaGrid` by mean per-class accuracy on the
 * balanced val split (never test), as UNO-IC picks β. Why: α = 3 assumes ResNeXt-50 features; on a
 * small network whose post-ReLU features all point nearly the same way (cos(x, d) ≈ 1), α·cos·d̂
 * outweighs x̂ and every image gets the same class. TDE logits are affine in α,
 * z(α) = z(0) + α·(z(1) − z(0)), so two val passes cover the whole grid. Until calibration (the
 * per-epoch val accuracy of training) α = 0 is used.
 */
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { CAUSAL_DEFAULTS } from '../models/heads/causal.js';
import type { CalibrationContext, Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';
import { meanPerClassAccuracy } from './uno-ic.js';

const ALPHA_GRID = Array.from({ length: 13 }, (_, i) => i * 0.25); // 0, 0.25, …, 3

export const deConfoundParams = z
  .object({
    numHeads: z.number().int().positive().default(CAUSAL_DEFAULTS.numHeads).describe('K: feature chunks (multi-head normalisation)'),
    tau: z.number().positive().default(CAUSAL_DEFAULTS.tau).describe('logit scale τ (each head scaled by τ/K)'),
    gamma: z.number().nonnegative().default(CAUSAL_DEFAULTS.gamma).describe('γ in w/(‖w‖ + γ)'),
    alpha: z
      .union([z.number().nonnegative(), z.literal('val')])
      .default(CAUSAL_DEFAULTS.alpha)
      .describe("α: strength of the counterfactual subtraction at test; 'val' picks it from alphaGrid on the val split"),
    alphaGrid: z.array(z.number().nonnegative()).min(1).default(ALPHA_GRID).describe("candidates for alpha: val (default 0, 0.25, …, 3)"),
    momentum: z.number().min(0).max(1).default(CAUSAL_DEFAULTS.momentum).describe('μ of the mean-feature moving average d ← μd + mean(x)'),
    useEffect: z.boolean().default(CAUSAL_DEFAULTS.useEffect).describe('apply TDE at test (false: plain causal-norm logits)'),
  })
  .strict();

export const deConfoundMethod: Method = {
  name: 'de-confound',
  family: 'MI',
  tags: ['CD'],
  table: { rows: [{ paper: 'De-confound' }] },
  summary: 'De-confound-TDE: causal-norm classifier (K=2, τ=16, γ=1/32), mean-feature EMA, counterfactual subtraction (α=3) at test.',
  citation: {
    paper: 'Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the Bad Momentum Causal Effect", NeurIPS 2020',
    code: 'KaihuaTang/Long-Tailed-Recognition.pytorch classification/models/CausalNormClassifier.py, run_networks.py',
  },
  params: deConfoundParams,
  create(setup) {
    const params = parseParams('de-confound', deConfoundParams, setup);
    const { alphaGrid, ...headParams } = params;
    const searchAlpha = params.alpha === 'val';
    return {
      head: 'causal',
      headOptions: { ...headParams, alpha: searchAlpha ? 0 : params.alpha },
      loss: logitsLoss(softmaxLoss(setup.classCounts)),
      resolvedParams: { headScale: params.tau / params.numHeads },
      ...(searchAlpha
        ? {
            async calibrate(_valLogits: tf.Tensor2D, valLabels: Int32Array, ctx?: CalibrationContext) {
              if (!ctx) throw new Error("de-confound alpha: val needs a calibration context (the runner's)");
              const grid = [...alphaGrid].sort((a, b) => a - b);
              const z0 = await ctx.valLogitsWith({ alpha: 0, useEffect: true });
              const z1 = await ctx.valLogitsWith({ alpha: 1, useEffect: true });
              const accuracyByAlpha: number[] = [];
              let best = -1;
              let alpha = grid[0];
              try {
                for (const candidate of grid) {
                  const predicted = tf.tidy(() => tf.argMax(tf.add(z0, tf.mul(tf.sub(z1, z0), candidate)), 1).dataSync());
                  const acc = meanPerClassAccuracy(predicted, valLabels, setup.numClasses);
                  accuracyByAlpha.push(acc);
                  // Strictly greater: ties keep the smaller α.
                  if (acc > best) {
                    best = acc;
                    alpha = candidate;
                  }
                }
              } finally {
                z0.dispose();
                z1.dispose();
              }
              ctx.setHeadOptions({ alpha });
              return { alpha, searched: true, valMeanClassAccuracy: best, alphaGrid: grid, accuracyByAlpha };
            },
          }
        : {}),
    };
  },
};
