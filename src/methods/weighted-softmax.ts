/**
 * Weighted Softmax: class-weighted CE with the weighted mean Σwℓ/Σw.
 * Follows Vanint/Awesome-LongTailed-Learning Main-codebase/loss/WeightedSoftmaxLoss.py
 * (w = 1 + ln(n_max/n_k), default `weighting: log`); `weighting: inverse` gives the survey's
 * Table 3 formula w = 1/π_k.
 */
import { weightedSoftmaxLoss, weightedSoftmaxParams, weightedSoftmaxWeights } from '../losses/weighted-softmax.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const weightedSoftmaxMethod: Method = {
  name: 'weighted-softmax',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'Weighted Softmax' }] },
  summary: 'Class-weighted cross-entropy, w = 1 + ln(n_max/n_k) (survey code) or 1/π_k (survey Table 3).',
  citation: {
    paper: 'Zhang et al., "Deep Long-Tailed Learning: A Survey", TPAMI 2023, Table 3 (weighted softmax)',
    code: 'Vanint/Awesome-LongTailed-Learning Main-codebase/loss/WeightedSoftmaxLoss.py',
  },
  params: weightedSoftmaxParams,
  create(setup) {
    const params = parseParams('weighted-softmax', weightedSoftmaxParams, setup);
    return {
      loss: logitsLoss(weightedSoftmaxLoss(setup.classCounts, params)),
      resolvedParams: { classWeights: weightedSoftmaxWeights(setup.classCounts, params.weighting) },
    };
  },
};
