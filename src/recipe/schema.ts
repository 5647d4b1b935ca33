/**
 * The recipe schema: one zod source for validation, defaults, `--dry-run` output and the JSON
 * Schema shipped for editors (`lt-bench schema`). Every object is strict, so a typo'd key is an
 * error, never a silently ignored setting.
 */
import { z } from 'zod';
import { SAMPLER_ALIASES, SAMPLER_NAMES, type SamplerAlias } from '../data/samplers.js';
import type { SamplerName } from '../methods/types.js';
import { TEST_DISTRIBUTION_NAMES } from '../eval/test-distributions.js';

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

/** Datasets read from image lists + a root folder, decoded with sharp (src/data/sources/image-list.ts). */
export const IMAGE_LIST_DATASETS = ['imagenet-lt', 'places-lt', 'inat2018', 'image-list'] as const;
export type ImageListDatasetName = (typeof IMAGE_LIST_DATASETS)[number];

export function isImageListDataset(name: string): name is ImageListDatasetName {
  return (IMAGE_LIST_DATASETS as readonly string[]).includes(name);
}

const listPath = z.string().min(1);
export const imageListsSchema = z
  .object({
    train: listPath.optional().describe('train list (default: the official file name under root, e.g. ImageNet_LT_train.txt)'),
    val: listPath.optional().describe('val list (default: the official file name under root; image-list without val: set valSource: test)'),
    test: listPath.optional().describe('test list (default: the official file name under root)'),
    balancedTrain: listPath
      .optional()
      .describe('the balanced twin of the train list, for dataset.balanced and reference: auto (`lt-bench data make imagenet-lt` writes ImageNet_LT_balanced_train.txt, the default name for imagenet-lt)'),
  })
  .strict()
  .describe('image lists (`<relative path> <label>` per line); relative paths are relative to the recipe file that sets them');

const range = z.tuple([z.number().positive(), z.number().positive()]);
/** RandAugment as torchvision's (src/data/rand-augment.ts); absent = off, so it hashes only when set. */
export const randAugmentSchema = z
  .object({
    n: z.number().int().min(1).max(14).describe('operations per image (torchvision num_ops; 2 in the survey)'),
    m: z.number().int().min(0).max(30).describe('magnitude bin 0–30 of 31 (torchvision magnitude; 9–10 in the survey)'),
  })
  .strict()
  .describe('RandAugment on training images (not on test images, not on a MoCo v2 view)');
export const transformSchema = z
  .object({
    size: positiveInt.optional().describe('crop side (224); train: random-resized-crop to size; test: resize then centre-crop to size'),
    resize: positiveInt.optional().describe('test: shorter side before the centre crop (default round(size·256/224))'),
    scale: range.optional().describe('random-resized-crop area range (0.08, 1)'),
    ratio: range.optional().describe('random-resized-crop aspect-ratio range (3/4, 4/3)'),
    flip: z.number().min(0).max(1).optional().describe('horizontal-flip probability (0.5)'),
    randAugment: randAugmentSchema.optional(),
    jitter: z
      .object({
        brightness: z.number().nonnegative().optional(),
        contrast: z.number().nonnegative().optional(),
        saturation: z.number().nonnegative().optional(),
      })
      .strict()
      .optional()
      .describe('colour jitter (0.4 each; 0 turns one off)'),
    mean: z.array(z.number()).length(3).optional().describe("normalisation mean (default: the manifest's, else ImageNet's)"),
    std: z.array(z.number().positive()).length(3).optional().describe("normalisation std (default: the manifest's, else ImageNet's)"),
  })
  .strict()
  .describe('image-list decoding: train random-resized-crop + flip + colour jitter; test resize + centre crop; ImageNet normalisation');

const datasetObjectSchema = z
  .object({
    name: z
      .enum(['fashion-mnist', 'cifar10', 'cifar100', 'synthetic', ...IMAGE_LIST_DATASETS])
      .describe('dataset source; imagenet-lt, places-lt, inat2018 and image-list read image lists (`<relative path> <label>` lines) under root'),
    root: z
      .string()
      .nullable()
      .default(null)
      .describe('directory with the dataset files (else --data-root, LT_BENCH_DATA, the vendored copy); image lists: the folder the list paths are relative to (a relative root is relative to the recipe file)'),
    profile: z
      .enum(['exponential', 'none'])
      .default('exponential')
      .describe("'none' keeps the whole (balanced) train pool; image-list datasets: the lists are the split, so 'none' (the default there) is the only value"),
    imbalanceRatio: z.number().min(1).default(100).describe('n_max / n_min of the exponential profile'),
    maxPerClass: positiveInt
      .nullable()
      .default(null)
      .describe('n_max of the exponential profile (null: the smallest class size left after the val hold-out); a smaller value makes a small split for quick checks'),
    splitSeed: nonNegativeInt.default(0).describe('seed of the val hold-out and the per-class selection'),
    valPerClass: nonNegativeInt.default(20).describe('balanced validation images held out per class before the LT selection'),
    valSource: z
      .enum(['holdout', 'test'])
      .default('holdout')
      .describe("'holdout': validation images held out from train (valPerClass); 'test': validate on the test set, as the CIFAR-LT literature does (recorded and flagged)"),
    balanced: z.boolean().default(false).describe('train on the balanced twin of the LT split (same total, equal per class)'),
    augment: z
      .object({
        padCrop: nonNegativeInt.default(0).describe('random crop after zero-padding by this many pixels (0 = off)'),
        flip: z.boolean().default(false).describe('random horizontal flip'),
        randAugment: randAugmentSchema.optional(),
      })
      .strict()
      .default({}),
    synthetic: syntheticSchema.optional().describe('only for name: synthetic (a small generated source for fast tests)'),
    // ---- image-list datasets (imagenet-lt, places-lt, inat2018, image-list) only ----
    numClasses: z.number().int().min(2).optional().describe('image-list: number of classes (required); the known datasets take it from their manifest'),
    lists: imageListsSchema.optional(),
    transform: transformSchema.optional(),
    workers: nonNegativeInt.optional().describe('image decoding worker threads (default: the cores given − 1, SLURM_CPUS_PER_TASK in a Slurm task; --workers on run and sweep); 0 decodes on the training thread'),
    prefetch: positiveInt.optional().describe('batches decoded ahead of the training step (default 2)'),
    badImages: z
      .enum(['error', 'skip'])
      .optional()
      .describe("a missing or corrupt image: 'error' (default) stops the run naming the file (exit 3); 'skip' leaves it out and counts it in run.json (data.skipped)"),
  })
  .strict();

/** Image-list datasets default to profile 'none': their lists are the split. */
export const datasetSchema = z.preprocess(
  (v) =>
    v && typeof v === 'object' && !Array.isArray(v) && (IMAGE_LIST_DATASETS as readonly unknown[]).includes((v as Record<string, unknown>).name) && (v as Record<string, unknown>).profile === undefined
      ? { ...(v as Record<string, unknown>), profile: 'none' }
      : v,
  datasetObjectSchema,
);

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

/** A sampler name with the survey's aliases resolved (the one alias map, src/data/samplers.ts), so equal settings hash equally. */
export const canonicalSamplerSchema = z.preprocess(
  (v) => (typeof v === 'string' && v.toUpperCase() in SAMPLER_ALIASES ? SAMPLER_ALIASES[v.toUpperCase() as SamplerAlias] : v),
  z.enum(SAMPLER_NAMES as unknown as [SamplerName, ...SamplerName[]]),
);

export const trainSchema = z
  .object({
    epochs: positiveInt.describe('the epoch budget; the schedule is derived from it'),
    batchSize: positiveInt.default(128),
    seed: nonNegativeInt.default(0).describe('training seed: initialisation, shuffling, augmentation, stochastic losses'),
    sampler: canonicalSamplerSchema
      .optional()
      .describe("training sampler (default: the method's, else instance); aliases IB, CB, SR, PB, RS"),
    epochLength: z
      .enum(['dataset', 'sampler'])
      .optional()
      .describe(
        "samples per epoch (default 'dataset'): as many as the train set, as the official trainers do (they stop at N/batch steps); 'sampler': the sampler's own length (class-balanced: max n_k × C, the only sampler where the two differ)",
      ),
    optimizer: optimizerSchema.default({}),
    schedule: scheduleSchema.default({}),
    precision: z
      .enum(['fp32', 'bf16', 'fp16'])
      .default('fp32')
      .describe(
        "arithmetic of the training and evaluation kernels: fp32, or libtorch's autocast to bf16 (CPU and CUDA) or fp16 (CUDA only, with dynamic loss scaling as PyTorch's GradScaler); only the torch backend does bf16/fp16, other backends and fp16 on CPU are refused (exit 2); part of the run id unless fp32",
      ),
    accumulate: positiveInt
      .optional()
      .describe(
        'gradient accumulation (default 1): batchSize is the effective batch; each step sums the gradients of `accumulate` micro-batches of batchSize/accumulate images (must divide), so the update equals the full-batch one for losses that average over images — except batch norm, whose statistics are per micro-batch',
      ),
  })
  .strict();

export const evalSchema = z
  .object({
    thresholds: groupThresholdsSchema.default({}),
    batchSize: positiveInt.default(500),
    testDistributions: z
      .array(z.enum(TEST_DISTRIBUTION_NAMES as [string, ...string[]]))
      .optional()
      .describe('test-agnostic evaluation (evaluation only, not in the run id): also score long-tailed subsets of the balanced test set, SADE\'s forward-ρ / uniform / backward-ρ for ρ in 2, 5, 10, 25, 50'),
  })
  .strict();

// ---- Two-stage (decoupled) training: `stage2`, run by src/stages/ ------------------------------
// Stage 1 is the recipe's own `method` + `train` (train.sampler: IB / CB / SR / PB) — a run of its
// own, reused by every stage-2 variant.
export const STAGE2_STRATEGIES = ['joint', 'crt', 'lws', 'tau-norm', 'ncm'] as const;

export const stage2Schema = z
  .object({
    strategy: z
      .enum(STAGE2_STRATEGIES)
      .optional()
      .describe('classifier learning on the frozen stage-1 backbone (a decouple-* method sets it): joint = none, crt, lws, tau-norm, ncm'),
    epochs: positiveInt.optional().describe('stage-2 epochs (default: crt 10, lws 5; tau-norm and ncm do not train)'),
    sampler: canonicalSamplerSchema.default('class-balanced').describe('stage-2 sampler (crt, lws): the class-aware sampler, 4 per class'),
    epochLength: z
      .enum(['dataset', 'sampler'])
      .default('dataset')
      .describe("'dataset': a stage-2 epoch has as many samples as the LT train set (the official trainers stop at N/batch steps); 'sampler': the sampler's own length (class-balanced: max n_k × C)"),
    batchSize: positiveInt.optional().describe('default: train.batchSize'),
    optimizer: optimizerSchema.optional().describe('default: train.optimizer'),
    schedule: scheduleSchema.default({}).describe('stage-2 schedule (default cosine, as the official cls_crt/cls_lws configs)'),
    from: z.enum(['last', 'best']).default('last').describe("stage-1 checkpoint stage 2 starts from (tables report 'last'; the official code used best-on-val)"),
    backboneMode: z
      .enum(['train', 'eval'])
      .default('train')
      .describe("'train': frozen weights, batch norm on batch statistics with its running statistics updated (the official model.train()); 'eval': batch norm frozen too"),
    tauGrid: z.array(z.number().min(0)).min(1).optional().describe('tau-norm: candidate τ, chosen on the val split (default 0, 0.1, …, 2)'),
  })
  .strict();
// ---- end two-stage -----------------------------------------------------------------------------

/** The real study's coordinates a rehearsal recipe stands in for (the table places its runs there). */
export const rehearsalSchema = z
  .object({
    dataset: z.string().describe('the real dataset, e.g. imagenet-lt'),
    backbone: z.string().describe('the real backbone, e.g. resnext50'),
    epochs: positiveInt.describe('the real epoch budget, e.g. 90'),
    dataVersion: positiveInt.describe("the rehearsal dataset generator's version (its images are not covered by the lists' checksum)"),
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
    stage2: stage2Schema.optional().describe('two-stage runs: classifier learning on the frozen stage-1 backbone'),
    reference: z
      .enum(['auto', 'none'])
      .default('none')
      .describe("'auto' also trains (or reuses) softmax and this method on the balanced twin, for UA and RA"),
    output: z.string().default('results').describe('results directory; runs go to <output>/<run-id>/'),
    rehearsal: rehearsalSchema
      .optional()
      .describe("set by `--rehearse` (src/rehearsal/shrink.ts), not by hand: the recipe is a shrunk stand-in for the real study's cell named here; its records say rehearsal: true and ordinary tables leave them out"),
  })
  .strict();

export type Recipe = z.infer<typeof recipeSchema>;
export type RecipeInput = z.input<typeof recipeSchema>;
