/**
 * Focal loss (Lin et al., ICCV 2017): −(1 − p_y)^γ log p_y. Default γ = 2 (the paper; KaihuaTang's
 * repo); the survey codebase (Main-codebase/loss/FocalLoss.py create_loss) uses γ = 3.0 and
 * detaches the modulating factor: `gamma: 3, detach: true` reproduces it.
 */
import { focalLoss, focalParams } from '../losses/focal.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const focalMethod: Method = {
  name: 'focal',
  family: 'CR',
  tags: ['CSL'],
  table: { rows: [{ paper: 'Focal loss' }], splitBy: { detach: false } },
  summary: 'Focal loss −(1 − p_y)^γ log p_y (γ = 2; the survey code used γ = 3 with a detached factor).',
  citation: {
    paper: 'Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017',
    code: 'Vanint/Awesome-LongTailed-Learning Main-codebase/loss/FocalLoss.py; kaidic/LDAM-DRW losses.py (gradient through the factor)',
  },
  params: focalParams,
  create(setup) {
    const params = parseParams('focal', focalParams, setup);
    return { loss: logitsLoss(focalLoss(setup.classCounts, params)) };
  },
};
