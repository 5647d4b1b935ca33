/**
 * Softmax cross-entropy baseline. Survey config:
 * Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/ce.yaml.
 */
import { softmaxLoss, softmaxParams } from '../losses/softmax.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const softmaxMethod: Method = {
  name: 'softmax',
  family: 'baseline',
  tags: ['Baseline'],
  table: { rows: [{ paper: 'Softmax' }] },
  summary: 'Plain softmax cross-entropy, instance-balanced sampling (the baseline every table compares to).',
  citation: {
    paper: 'Zhang et al., "Deep Long-Tailed Learning: A Survey", TPAMI 2023 (baseline, §4.1)',
    code: 'Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/ce.yaml',
  },
  params: softmaxParams,
  create(setup) {
    const params = parseParams('softmax', softmaxParams, setup);
    return { loss: logitsLoss(softmaxLoss(setup.classCounts, params)) };
  },
};
