/**
 * Class-balanced loss (Cui et al., CVPR 2019): effective-number weights (1−β)/(1−β^{n_k}),
 * Σw = C, on softmax CE (default), sigmoid or sigmoid-focal. Follows
 * richardaecn/class-balanced-loss src/cifar_main.py; deviation: the default reduction is the
 * PyTorch ports' weighted mean Σwℓ/Σw, `reduction: n` gives the official TensorFlow ÷N.
 */
import { classBalancedLoss, classBalancedParams } from '../losses/class-balanced.js';
import { classBalancedWeights } from '../losses/common.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const classBalancedMethod: Method = {
  name: 'class-balanced',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ after: 'Focal loss' }], splitBy: { lossType: 'softmax' } },
  summary: 'Class-balanced loss: effective-number weights (β = 0.9999) on softmax / focal / sigmoid.',
  citation: {
    paper: 'Cui et al., "Class-Balanced Loss Based on Effective Number of Samples", CVPR 2019',
    code: 'richardaecn/class-balanced-loss src/cifar_main.py, cifar_im_trainval_cb.sh',
  },
  params: classBalancedParams,
  create(setup) {
    const params = parseParams('class-balanced', classBalancedParams, setup);
    return {
      loss: logitsLoss(classBalancedLoss(setup.classCounts, params)),
      resolvedParams: { classWeights: classBalancedWeights(setup.classCounts, params.beta) },
    };
  },
};
