/**
 * Logit adjustment (Menon et al., ICLR 2021). Follows google-research/google-research
 * logit_adjustment/main.py, utils.py (τ = 1.0).
 * - `mode: loss` (default): train with CE(z + τ log π), predict with raw z.
 * - `mode: posthoc`: train with plain CE, predict with z − τ log π.
 */
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { logitAdjustedLoss, posthocAdjust } from '../losses/logit-adjustment.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const logitAdjustmentMethodParams = z
  .object({
    tau: z.number().min(0).default(1),
    mode: z.enum(['loss', 'posthoc']).default('loss'),
  })
  .strict();

export const logitAdjustmentMethod: Method = {
  name: 'logit-adjustment',
  family: 'CR',
  tags: ['LA'],
  table: { rows: [{ after: 'Balanced Softmax' }], splitBy: { mode: 'loss' } },
  summary: 'Logit adjustment by τ·log π (τ = 1): in the loss (default) or post hoc at prediction.',
  citation: {
    paper: 'Menon et al., "Long-tail learning via logit adjustment", ICLR 2021',
    code: 'google-research/google-research logit_adjustment/main.py, utils.py',
  },
  params: logitAdjustmentMethodParams,
  create(setup) {
    const { tau, mode } = parseParams('logit-adjustment', logitAdjustmentMethodParams, setup);
    if (mode === 'loss') {
      return { loss: logitsLoss(logitAdjustedLoss(setup.classCounts, { tau })) };
    }
    return {
      loss: logitsLoss(softmaxLoss(setup.classCounts)),
      predict: (output) => posthocAdjust(output.logits, setup.classCounts, tau),
    };
  },
};
