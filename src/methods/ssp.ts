/**
 * SSP, self-supervised pre-training (Yang & Xu, "Rethinking the Value of Labels for Improving
 * Class-Imbalanced Learning", NeurIPS 2020); official code YyzHarry/imbalanced-semi-self.
 *
 * Three stages, each a run of its own:
 *  1. pre-training on the same long-tailed training images, labels discarded, with
 *     - rotation prediction (`pretrain_rot.py`: 4-way rot90 classification) for small in-memory
 *       images (CIFAR, Fashion-MNIST; src/methods/pretexts/rotation.ts), or
 *     - MoCo v2 (`pretrain_moco.py`: K = 65,536, m = 0.999, T = 0.2, MLP head, dim 128, two
 *       MoCo v2 views; src/methods/pretexts/moco-v2.ts) for ImageNet-size image lists;
 *     `pretext: auto` (the default) picks by the dataset (image lists → moco-v2, in-memory → rotation),
 *     `rotation` / `moco-v2` force one. The run is shared by every recipe with the same pretext,
 *     budget and data (its id hashes only those); `pretrainEpochs` sets its length (default the
 *     recipe's `train.epochs`: at mini scale as many epochs as the supervised budget);
 *  2. supervised training (plain softmax CE, the recipe's `train:`) from the pre-trained backbone,
 *     the head fresh (the official `load_model` / `train.py` drop the `fc` / `linear` keys);
 *  3. classifier re-training, cRT (classifier-balancing `cls_crt.yaml`: frozen features, class-aware
 *     sampler, 10 epochs; the recipe's `stage2:` keys): the survey's Table 5 SSP cell.
 * Inference: the plain model. Deviation: pre-training uses the recipe's optimiser and schedule (the
 * official MoCo run: lr 0.015, batch 128, wd 1e-4, cosine; rotation: lr 0.1, wd 2e-4, batch 128).
 */
import { z } from 'zod';
import { softmaxLoss } from '../losses/softmax.js';
import { isImageListDataset, type Recipe } from '../recipe/schema.js';
import { mocoV2Pretext, MOCO_V2_DEFAULTS } from './pretexts/moco-v2.js';
import { rotationPretext } from './pretexts/rotation.js';
import type { Method, Pretext } from './types.js';
import { logitsLoss, parseParams } from './setup.js';

export const sspParams = z
  .object({
    pretext: z.enum(['auto', 'rotation', 'moco-v2']).default('auto').describe('self-supervised pretext: auto (image lists: moco-v2, in-memory images: rotation), rotation, moco-v2'),
    pretrainEpochs: z.number().int().positive().optional().describe("pre-training epochs (default the recipe's train.epochs)"),
    queueSize: z.number().int().positive().default(MOCO_V2_DEFAULTS.queueSize).describe('MoCo v2 queue size K (a multiple of train.batchSize)'),
    momentum: z.number().min(0).max(1).default(MOCO_V2_DEFAULTS.momentum).describe('MoCo v2 key-encoder momentum m'),
    temperature: z.number().positive().default(MOCO_V2_DEFAULTS.temperature).describe('MoCo v2 temperature T'),
    dim: z.number().int().positive().default(MOCO_V2_DEFAULTS.dim).describe('MoCo v2 projection dimension'),
  })
  .strict();
export type SspParams = z.output<typeof sspParams>;

/** The pretext a recipe pre-trains with: the param, or by the dataset's kind for `auto`. */
export function sspPretextName(recipe: Pick<Recipe, 'dataset' | 'method'>): 'rotation' | 'moco-v2' {
  const p = sspParams.parse(recipe.method.params);
  if (p.pretext !== 'auto') return p.pretext;
  return isImageListDataset(recipe.dataset.name) ? 'moco-v2' : 'rotation';
}

export function sspPretext(recipe: Recipe): Pretext {
  if (sspPretextName(recipe) === 'rotation') return rotationPretext;
  const p = sspParams.parse(recipe.method.params);
  return mocoV2Pretext({ queueSize: p.queueSize, momentum: p.momentum, temperature: p.temperature, dim: p.dim });
}

export const sspMethod: Method = {
  name: 'ssp',
  family: 'IA',
  tags: ['TL'],
  table: { rows: [{ paper: 'SSP' }] },
  stages: [{ kind: 'pretrain', pretext: sspPretext, epochsParam: 'pretrainEpochs' }, { kind: 'train' }, { kind: 'classifier', strategy: 'crt' }],
  summary: 'SSP: self-supervised pre-training on the LT images (rotation / MoCo v2), softmax training, then cRT.',
  citation: {
    paper: 'Yang & Xu, "Rethinking the Value of Labels for Improving Class-Imbalanced Learning", NeurIPS 2020',
    code: 'YyzHarry/imbalanced-semi-self pretrain_rot.py, pretrain_moco.py, train.py, imagenet_inat/config/ImageNet_LT/cls_crt.yaml',
  },
  params: sspParams,
  checkRecipe(recipe) {
    if (sspPretextName(recipe) !== 'moco-v2') return null;
    const k = (recipe.method.params as SspParams).queueSize;
    const b = recipe.train.batchSize;
    return k % b === 0 ? null : { key: 'method.params.queueSize', message: `${k} is not a multiple of train.batchSize ${b} (MoCo's queue takes whole batches)` };
  },
  create(setup) {
    parseParams('ssp', sspParams, setup);
    // Stage 2 (supervised) is plain softmax CE; stage 3 is src/stages/stage2.ts's cRT.
    return { loss: logitsLoss(softmaxLoss(setup.classCounts)) };
  },
};
