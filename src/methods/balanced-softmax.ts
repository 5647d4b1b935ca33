/**
 * Balanced Softmax (Ren et al., NeurIPS 2020): CE(z + log π) at training, raw z at test.
 * Follows jiawei-ren/BalancedMetaSoftmax-Classification loss/BalancedSoftmaxLoss.py (the survey's
 * PriorCELoss is the same up to a per-row constant). Only the loss part (no meta sampler).
 */
import { balancedSoftmaxLoss, balancedSoftmaxParams } from '../losses/balanced-softmax.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const balancedSoftmaxMethod: Method = {
  name: 'balanced-softmax',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'Balanced Softmax' }] },
  summary: 'Balanced Softmax: cross-entropy on z + log π during training, raw logits at test.',
  citation: {
    paper: 'Ren et al., "Balanced Meta-Softmax for Long-Tailed Visual Recognition", NeurIPS 2020',
    code: 'jiawei-ren/BalancedMetaSoftmax-Classification loss/BalancedSoftmaxLoss.py',
  },
  params: balancedSoftmaxParams,
  create(setup) {
    const params = parseParams('balanced-softmax', balancedSoftmaxParams, setup);
    // predict: the default (raw logits) is the balanced-test prediction.
    return { loss: logitsLoss(balancedSoftmaxLoss(setup.classCounts, params)) };
  },
};
