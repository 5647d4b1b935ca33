/**
 * De-confound-TDE (Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the
 * Bad Momentum Causal Effect", NeurIPS 2020; code KaihuaTang/Long-Tailed-Recognition.pytorch,
 * classification/models/CausalNormClassifier.py and run_networks.py). Single stage: softmax CE on
 * the causal-norm classifier (K = 2 heads, τ = 16, γ = 1/32), a moving average of the mean
 * feature during training, and the counterfactual (TDE) subtraction with α = 3 at test
 * (survey config causal.yaml; the official CIFAR configs use α = 1.5).
 * Deviation: μ is fixed (0.9, the official CIFAR behaviour); the official ImageNet runs scale it
 * with the learning rate. See src/models/heads/causal.ts.
 */
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { CAUSAL_DEFAULTS } from '../models/heads/causal.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const deConfoundParams = z
  .object({
    numHeads: z.number().int().positive().default(CAUSAL_DEFAULTS.numHeads).describe('K: feature chunks (multi-head normalisation)'),
    tau: z.number().positive().default(CAUSAL_DEFAULTS.tau).describe('logit scale τ (each head scaled by τ/K)'),
    gamma: z.number().nonnegative().default(CAUSAL_DEFAULTS.gamma).describe('γ in w/(‖w‖ + γ)'),
    alpha: z.number().nonnegative().default(CAUSAL_DEFAULTS.alpha).describe('α: strength of the counterfactual subtraction at test'),
    momentum: z.number().min(0).max(1).default(CAUSAL_DEFAULTS.momentum).describe('μ of the mean-feature moving average d ← μd + mean(x)'),
    useEffect: z.boolean().default(CAUSAL_DEFAULTS.useEffect).describe('apply TDE at test (false: plain causal-norm logits)'),
  })
  .strict();

export const deConfoundMethod: Method = {
  name: 'de-confound',
  family: 'MI',
  tag: 'CD',
  summary: 'De-confound-TDE: causal-norm classifier (K=2, τ=16, γ=1/32), mean-feature EMA, counterfactual subtraction (α=3) at test.',
  citation: {
    paper: 'Tang et al., "Long-Tailed Classification by Keeping the Good and Removing the Bad Momentum Causal Effect", NeurIPS 2020',
    code: 'KaihuaTang/Long-Tailed-Recognition.pytorch classification/models/CausalNormClassifier.py, run_networks.py',
  },
  params: deConfoundParams,
  create(setup) {
    const params = parseParams('de-confound', deConfoundParams, setup);
    return { head: 'causal', headOptions: { ...params }, loss: logitsLoss(softmaxLoss(setup.classCounts)), resolvedParams: { headScale: params.tau / params.numHeads } };
  },
};
