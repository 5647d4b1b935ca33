/**
 * Shared shape of the `decouple-*` presets (Kang et al., "Decoupling Representation and Classifier
 * for Long-Tailed Recognition", ICLR 2020; code facebookresearch/classifier-balancing). A preset
 * names the stage-2 strategy; src/stages/ runs it as stage 1 (plain softmax CE with
 * `params.stage1Sampler`: instance / class-balanced / square-root / progressive, aliases IB / CB / SR /
 * PB — the survey's Decouple-IB-CRT, -CB-CRT, -SR-CRT, -PB-CRT rows) followed by stage 2 on the
 * frozen backbone. Stage-2 settings (epochs, sampler, lr, …) are the recipe's `stage2:` keys.
 *
 * `create` returns the stage-1 method (softmax CE): that is what trains with the recipe's
 * `train:` budget. The runner never trains a preset single-stage.
 */
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { canonicalSamplerSchema } from '../recipe/schema.js';
import type { Method } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const decoupleParams = z
  .object({
    stage1Sampler: canonicalSamplerSchema.default('instance').describe('stage-1 sampler: instance (IB), class-balanced (CB), square-root (SR), progressive (PB)'),
  })
  .strict();

const CODE = 'facebookresearch/classifier-balancing (run_networks.py, config/ImageNet_LT/feat_*.yaml, cls_crt.yaml, cls_lws.yaml, tau_norm.py, models/KNNClassifier.py)';

export function decoupleMethod(name: string, summary: string, codeDetail: string): Method {
  return {
    name,
    family: 'MI',
    tag: 'DT',
    summary,
    citation: {
      paper: 'Kang et al., "Decoupling Representation and Classifier for Long-Tailed Recognition", ICLR 2020',
      code: `${CODE}; ${codeDetail}`,
    },
    params: decoupleParams,
    create(setup) {
      parseParams(name, decoupleParams, setup);
      return { loss: logitsLoss(softmaxLoss(setup.classCounts)) };
    },
  };
}
