/**
 * LDAM-DRW (Cao et al., NeurIPS 2019). Default `variant: ldam-drw` follows kaidic/LDAM-DRW
 * (losses.py LDAMLoss, cifar_train.py): cosine head (NormedLinear, logits are cosines without a
 * scale), L = CE(s·(cos − m_y e_y)), DRW from 0-based epoch floor(0.8·epochs) (160 of 200) with
 * class-balanced weights β = 0.9999. `variant: survey` follows the survey's Ensemble-codebase
 * (model/loss.py LDAMLoss): linear head, L = CE(z − s·m_y e_y). `drw: false` is plain LDAM.
 * Sampler: instance-balanced throughout (DRW re-weights, it does not re-sample).
 */
import { classBalancedWeights } from '../losses/common.js';
import { drwStartEpoch, ldamLoss, ldamMargins, ldamParams } from '../losses/ldam.js';
import * as tf from '@tensorflow/tfjs';
import type { Method, ModelOutput } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const ldamDrwMethod: Method = {
  name: 'ldam-drw',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'LDAM' }], splitBy: { variant: 'ldam-drw', drw: true }, aliases: ['ldam'] },
  summary: 'Label-distribution-aware margins (m ∝ n^−1/4, max 0.5, s = 30) with deferred class-balanced re-weighting.',
  citation: {
    paper: 'Cao et al., "Learning Imbalanced Datasets with Label-Distribution-Aware Margin Loss", NeurIPS 2019',
    code: 'kaidic/LDAM-DRW losses.py, cifar_train.py (variant survey: Vanint/Awesome-LongTailed-Learning Ensemble-codebase/model/loss.py)',
  },
  params: ldamParams,
  create(setup) {
    const params = parseParams('ldam-drw', ldamParams, setup);
    const cosine = params.variant === 'ldam-drw';
    return {
      // The cosine head yields unscaled cosines; the loss multiplies by `scale` itself, and so
      // does the prediction (the argmax is the same; calibration and NLL read s·cos, the logits trained).
      head: cosine ? 'cosine' : 'linear',
      ...(cosine ? { predict: (output: ModelOutput) => tf.mul(params.scale, output.logits) as tf.Tensor2D } : {}),
      loss: logitsLoss(ldamLoss(setup.classCounts, params)),
      resolvedParams: {
        margins: ldamMargins(setup.classCounts, params.maxMargin),
        drwStartEpoch: params.drw ? drwStartEpoch(setup.epochs, params.drwStart) : null,
        drwWeights: params.drw ? classBalancedWeights(setup.classCounts, params.beta) : null,
      },
    };
  },
};
