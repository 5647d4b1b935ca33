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
import type { Stage2Strategy } from '../results/types.js';
import type { Method, TableRow } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const decoupleParams = z
  .object({
    stage1Sampler: canonicalSamplerSchema.default('instance').describe('stage-1 sampler: instance (IB), class-balanced (CB), square-root (SR), progressive (PB)'),
  })
  .strict();

const CODE = 'facebookresearch/classifier-balancing (run_networks.py, config/ImageNet_LT/feat_*.yaml, cls_crt.yaml, cls_lws.yaml, tau_norm.py, models/KNNClassifier.py)';

/**
 * A decoupled method: stage 1 (softmax CE), then stage 2 with `strategy` on the frozen backbone.
 * Rows: one per stage-1 sampler in `rows` (the survey reports cRT per sampler, IB / CB / SR / PB);
 * the stage-1 sampler always shows in the row label, the stage-1 loss only when not softmax.
 */
export function decoupleMethod(name: string, strategy: Stage2Strategy, summary: string, codeDetail: string, rows: TableRow[]): Method {
  return {
    name,
    family: 'MI',
    tags: ['DT'],
    table: { rows, splitBy: { stage1Sampler: null, stage1Loss: 'softmax' }, samplerSplits: false },
    stages: [{ kind: 'train' }, { kind: 'classifier', strategy }],
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
