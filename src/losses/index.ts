/**
 * The exported loss API: `createLoss(name, { classCounts, ...params })` returns a plain
 * `(logits, labels, ctx?) => tf.Scalar` usable in any tfjs training loop. Parameter names are
 * shared with recipes' `method.params`.
 */
import type { z } from 'zod';
import type { LossFn, LossOptions } from './types.js';
import { softmaxLoss, softmaxParams } from './softmax.js';
import { weightedSoftmaxLoss, weightedSoftmaxParams } from './weighted-softmax.js';
import { focalLoss, focalParams } from './focal.js';
import { classBalancedLoss, classBalancedParams } from './class-balanced.js';
import { ldamLoss, ldamParams } from './ldam.js';
import { esqlLoss, esqlParams } from './esql.js';
import { balancedSoftmaxLoss, balancedSoftmaxParams } from './balanced-softmax.js';
import { ladeLoss, ladeParams } from './lade.js';
import { logitAdjustedLoss, logitAdjustmentParams } from './logit-adjustment.js';

export type { LossFn, LossOptions, LossContext } from './types.js';

interface LossEntry {
  params: z.ZodObject<z.ZodRawShape>;
  // Each factory validates its own params; `never` keeps the table heterogeneous.
  create: (classCounts: number[], params: never) => LossFn;
  summary: string;
}

const LOSSES: Record<string, LossEntry> = {
  softmax: { params: softmaxParams, create: softmaxLoss, summary: 'cross-entropy' },
  'weighted-softmax': {
    params: weightedSoftmaxParams,
    create: weightedSoftmaxLoss,
    summary: 'class-weighted CE, w = 1 + ln(n_max/n_k) or 1/π_k',
  },
  focal: { params: focalParams, create: focalLoss, summary: '−(1 − p_y)^γ log p_y' },
  'class-balanced': {
    params: classBalancedParams,
    create: classBalancedLoss,
    summary: 'effective-number weights (1−β)/(1−β^n) on softmax / sigmoid / focal',
  },
  'ldam-drw': {
    params: ldamParams,
    create: ldamLoss,
    summary: 'label-distribution-aware margins + deferred re-weighting',
  },
  esql: { params: esqlParams, create: esqlLoss, summary: 'softmax equalization loss (tail negatives masked)' },
  'balanced-softmax': {
    params: balancedSoftmaxParams,
    create: balancedSoftmaxLoss,
    summary: 'CE(z + log π)',
  },
  lade: { params: ladeParams, create: ladeLoss, summary: 'PriorCE + α·LADE regulariser' },
  'logit-adjustment': {
    params: logitAdjustmentParams,
    create: logitAdjustedLoss,
    summary: 'CE(z + τ log π)',
  },
};

/** Names accepted by createLoss. */
export const lossNames: readonly string[] = Object.freeze(Object.keys(LOSSES));

/** The strict params schema of a loss (defaults filled in by `.parse`). */
export function lossParamsSchema(name: string): z.ZodObject<z.ZodRawShape> {
  return entry(name).params;
}

function entry(name: string): LossEntry {
  const e = LOSSES[name];
  if (!e) throw new Error(`Unknown loss "${name}". Known losses: ${lossNames.join(', ')}`);
  return e;
}

/**
 * Builds a loss. `options.classCounts` are the training images per class (index = class id);
 * every other key is a parameter of that loss and unknown keys are rejected.
 */
export function createLoss(name: string, options: LossOptions): LossFn {
  const e = entry(name);
  const { classCounts, ...params } = options;
  const parsed = e.params.safeParse(params);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join('.') : '(params)'}: ${i.message}`)
      .join('; ');
    throw new Error(`createLoss("${name}"): invalid params: ${issues}`);
  }
  return e.create(classCounts, parsed.data as never);
}

export { classBalancedWeights, logPrior, classPrior } from './common.js';
export { weightedSoftmaxWeights } from './weighted-softmax.js';
export { ldamMargins, drwStartEpoch } from './ldam.js';
export { esqlThreshold } from './esql.js';
export { posthocAdjust } from './logit-adjustment.js';
export { ladeRegulariser } from './lade.js';
