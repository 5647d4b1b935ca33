/**
 * The recipe schema: one zod source for validation, defaults, `--dry-run` output and the JSON
 * Schema shipped for editors (`lt-bench schema`). Every object is strict, so a typo'd key is an
 * error, never a silently ignored setting.
 */
import { z } from 'zod';

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();

export const groupThresholdsSchema = z
  .object({
    head: z.number().nonnegative().default(100).describe('a class is head when its LT train count is > head'),
    tail: z.number().nonnegative().default(20).describe('a class is tail when its LT train count is < tail'),
  })
  .strict()
  .refine((t) => t.tail <= t.head + 1, { message: 'eval.thresholds.tail must not exceed head + 1' });

export const syntheticSchema = z
  .object({
    numClasses: z.number().int().min(2).default(4),
    perClass: positiveInt.default(64).describe('train pool images per class before the LT selection'),
    testPerClass: positiveInt.default(16),
    size: positiveInt.default(8),
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
  })
  .strict();

export const datasetSchema = z
  .object({
    name: z.enum(['fashion-mnist', 'synthetic']).describe('dataset source'),
    root: z.string().nullable().default(null).describe('directory with the dataset files (else --data-root, LT_BENCH_DATA, the vendored copy)'),
    profile: z.enum(['exponential', 'none']).default('exponential').describe("'none' keeps the whole (balanced) train pool"),
    imbalanceRatio: z.number().min(1).default(100).describe('n_max / n_min of the exponential profile'),
    splitSeed: nonNegativeInt.default(0).describe('seed of the val hold-out and the per-class selection'),
    valPerClass: nonNegativeInt.default(20).describe('balanced validation images held out per class before the LT selection'),
    balanced: z.boolean().default(false).describe('train on the balanced twin of the LT split (same total, equal per class)'),
    augment: z
      .object({
        padCrop: nonNegativeInt.default(0).describe('random crop after zero-padding by this many pixels (0 = off)'),
        flip: z.boolean().default(false).describe('random horizontal flip'),
      })
      .strict()
      .default({}),
    synthetic: syntheticSchema.optional().describe('only for name: synthetic (a small generated source for fast tests)'),
  })
  .strict();

export const backboneSchema = z
  .object({
    name: z.string().describe('a registered backbone, e.g. resnet8, resnet20, resnet32'),
  })
  .strict();

export const methodSchema = z
  .object({
    name: z.string().describe('a registered method (lt-bench methods)'),
    params: z.record(z.unknown()).default({}).describe("method hyperparameters; checked against the method's own schema"),
  })
  .strict();

export const optimizerSchema = z
  .object({
    name: z.literal('sgd').default('sgd'),
    lr: z.number().positive().default(0.1),
    momentum: z.number().min(0).max(1).default(0.9),
    nesterov: z.boolean().default(false),
    weightDecay: z.number().nonnegative().default(5e-4).describe('L2 added to the gradient before momentum, as torch.optim.SGD'),
  })
  .strict();

export const scheduleSchema = z
  .object({
    name: z.enum(['cosine', 'step', 'linear', 'constant']).default('cosine'),
    warmupEpochs: nonNegativeInt.default(0).describe('linear warm-up: lr·(e+1)/warmup for the first epochs'),
    milestones: z
      .array(z.number().gt(0).lt(1))
      .default([0.6, 0.8])
      .describe('step schedule: fractions of the epoch budget where lr is multiplied by gamma'),
    gamma: z.number().positive().default(0.1),
    minLr: z.number().nonnegative().default(0).describe('cosine floor (eta_min)'),
  })
  .strict();

export const trainSchema = z
  .object({
    epochs: positiveInt.describe('the epoch budget; the schedule is derived from it'),
    batchSize: positiveInt.default(128),
    seed: nonNegativeInt.default(0).describe('training seed: initialisation, shuffling, augmentation, stochastic losses'),
    sampler: z
      .enum(['instance', 'class-balanced', 'square-root', 'progressive', 'reversed', 'IB', 'CB', 'SR', 'PB', 'RS'])
      .optional()
      .describe("training sampler (default: the method's, else instance); aliases IB, CB, SR, PB, RS"),
    optimizer: optimizerSchema.default({}),
    schedule: scheduleSchema.default({}),
  })
  .strict();

export const evalSchema = z
  .object({
    thresholds: groupThresholdsSchema.default({}),
    batchSize: positiveInt.default(500),
  })
  .strict();

export const recipeSchema = z
  .object({
    name: z.string().optional().describe('display name; defaults to the recipe path under recipes/'),
    description: z.string().optional(),
    dataset: datasetSchema,
    backbone: backboneSchema,
    method: methodSchema,
    train: trainSchema,
    eval: evalSchema.default({}),
    reference: z
      .enum(['auto', 'none'])
      .default('none')
      .describe("'auto' also trains (or reuses) softmax and this method on the balanced twin, for UA and RA"),
    output: z.string().default('results').describe('results directory; runs go to <output>/<run-id>/'),
  })
  .strict();

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;
