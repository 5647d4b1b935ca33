/**
 * LADE (Hong et al., CVPR 2021): PriorCE + α·LADE regulariser. Follows the survey config
 * (Vanint/Awesome-LongTailed-Learning Main-codebase/config/ImageNet_LT/lade.yaml: α = 0.1,
 * remine_lambda = 0.1) and its LADELoss.py, a copy of hyperconnect/LADE. Test uses the raw logits
 * (balanced test set; LADE's test-prior adjustment is only for shifted test priors). The
 * official ImageNet-LT README uses α = 0.05, remine_lambda = 0.5.
 */
import { ladeLoss, ladeParams } from '../losses/lade.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const ladeMethod: Method = {
  name: 'lade',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'LADE' }] },
  summary: 'LADE: PriorCE (CE on z + log π) plus α = 0.1 × the LADE (ReMINE, λ = 0.1) regulariser.',
  citation: {
    paper: 'Hong et al., "Disentangling Label Distribution for Long-tailed Visual Recognition", CVPR 2021',
    code: 'hyperconnect/LADE; Vanint/Awesome-LongTailed-Learning Main-codebase/loss/LADELoss.py, PriorCELoss.py',
  },
  params: ladeParams,
  create(setup) {
    const params = parseParams('lade', ladeParams, setup);
    return { loss: logitsLoss(ladeLoss(setup.classCounts, params)) };
  },
};
