/**
 * The method contract. A long-tailed method changes one or more of: the model (shared trunk plus
 * branches / experts, method-owned parameters and buffers), the input streams (samplers × views),
 * the batch (mixup), the loss, hooks before an epoch and after a step, per-group learning rates,
 * the stages, the prediction and post-hoc steps. Each is a hook with a plain default, so a method
 * file only says what it changes (docs/adding-a-method.md walks through one).
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { LossContext } from '../losses/types.js';
import type { Stage2Strategy } from '../results/types.js';
import type { ParamStore } from '../models/params.js';
import type { Recipe } from '../recipe/schema.js';
import type { Rng } from '../rng.js';
import type { ScheduleSpec } from '../train/schedule.js';

export type Family = 'baseline' | 'CR' | 'IA' | 'MI';
export type Tag = 'Baseline' | 'Sampling' | 'CSL' | 'LA' | 'TL' | 'Aug' | 'RL' | 'CD' | 'DT' | 'Ensemble';
export type SamplerName = 'instance' | 'class-balanced' | 'square-root' | 'progressive' | 'reversed';
/** Built-in heads, plus any registered with `registerHead` (src/models/classifiers.ts). */
export type HeadName = 'linear' | 'cosine' | 'tau-norm' | 'lws' | 'ncm' | 'causal' | (string & {});

/** What the model produces for a batch. */
export interface ModelOutput {
  /** The logits accuracy and the default prediction read (a multi-expert model: the ensemble's). */
  logits: tf.Tensor2D;
  features: tf.Tensor2D;
  /** Per-expert / per-branch logits of a multi-expert model, for its loss. */
  experts?: tf.Tensor2D[];
  /** Auxiliary tensors a loss reads (projections, momentum keys, generated features, …). */
  aux?: Record<string, tf.Tensor>;
}

/**
 * The model a method trains. The default (src/models/model.ts LtModel) is the recipe's backbone
 * plus one head; a method may build its own (`buildModel`), e.g. a shared trunk with several
 * experts. Every parameter and buffer lives in `store` under a stable name, created in a fixed
 * order from the seeded generator: checkpoints and initial weights depend on both.
 */
export interface MethodModel {
  readonly store: ParamStore;
  /** Trunk: images → pooled features [B, d] (timm's forward_features). */
  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D;
  /** Head(s): features → output (timm's forward_head). */
  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput;
  /** forwardHead(forwardFeatures(x)). */
  forward(x: tf.Tensor4D, training: boolean): ModelOutput;
  /** Changes test-time options (the causal head's α); returns the previous values. */
  configure?(options: Record<string, unknown>): Record<string, unknown>;
  parameterCount(): number;
  /**
   * Optional: whether a trainable parameter (a `store` name) is used only while training, e.g.
   * RSG's generator; the run's test-time parameter count (`cost.params.test`) leaves it out.
   * Default: none is.
   */
  trainingOnly?(name: string): boolean;
  dispose(): void;
}

/** What `buildModel` gets: the recipe's backbone and the data's shape. */
export interface ModelBuildContext {
  backbone: string;
  inChannels: number;
  numClasses: number;
  /** Seed of the initialisation (the training seed). */
  seed: number;
  /** Training images' [height, width, channels], where the caller knows them (a model sized by its feature map: OLTR). */
  imageShape?: [number, number, number];
}

/**
 * How one view is augmented: 'basic' is the source's own training augmentation (pad-crop / flip
 * in memory, random-resized crop + jitter + flip for image lists); 'mocov2' is MoCo v2's
 * (random-resized crop 0.2–1, colour jitter p 0.8, grayscale p 0.2, blur p 0.5, flip).
 */
export interface ViewSpec {
  preset: 'basic' | 'mocov2';
}

/** One input stream of a training step: a sampler over the train split and its augmented views. */
export interface InputStream {
  /** Sampler of the stream (default: stream 0 the recipe's train.sampler, else the method's `sampler`, else instance). */
  sampler?: SamplerName;
  /**
   * Augmented views of each image: a count of basic views (default 1), or one spec per view.
   * View v > 0 draws its augmentation from its own seeded stream.
   */
  views?: number | ViewSpec[];
}

/** The batch of a training step, inside the step's tidy. */
export interface TrainBatch {
  /** Stream 0, view 0: what a single-stream method trains on. */
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  /** Every stream's views and labels (streams[0].views[0] is `x`). */
  streams: Array<{ views: tf.Tensor4D[]; y: tf.Tensor1D }>;
  /** Soft targets [B, C] a batch transform set (mixup); a loss that reads them overrides `y`. */
  targets?: tf.Tensor2D;
}

/** Where training is, for the loss and the step hooks. */
export interface StepContext extends LossContext {
  /** The step's batch (absent when a loss is called on its own, e.g. in a unit test). */
  batch?: TrainBatch;
  model?: MethodModel;
  step?: number;
  /** A `distill` stage: its frozen teachers (the runs its stage names), in the stage's order. */
  teachers?: MethodModel[];
  /** A `distill` stage: each teacher's logits for `x` (eval mode, no gradient); inside the step's tidy. */
  teacherLogits?(x: tf.Tensor4D): tf.Tensor2D[];
  /** A `distill` stage: the classes each teacher trained on (its stage's class subset; all classes when it had none). */
  teacherClasses?: number[][];
  /** A `distill` stage: each teacher run's per-class val accuracy (%) of its last epoch. */
  teacherValPerClass?: number[][];
}

/** A parameter group of the one SGD: its own learning-rate factor and / or weight decay. */
export interface ParamGroup {
  /** Parameter names of the group (names of `model.store`). */
  names: (name: string) => boolean;
  /** Multiplies the scheduled learning rate (e.g. a classifier lr factor). Default 1. */
  lrFactor?: number;
  /** Replaces the optimiser's weight decay for the group. */
  weightDecay?: number;
}

/** The data a post-hoc step reads: never the test labels. */
export type PostHocData = 'val' | 'test-unlabelled';

/**
 * A step after training: on the labelled val split (UNO-IC's β, De-confound's α), or on the
 * unlabelled test images (SADE's test-time aggregation) — the latter is transductive, and the
 * record and every table cell that uses the run say so.
 */
export interface PostHocStep {
  name: string;
  reads: PostHocData;
  /**
   * Must start from the trained state on every call (reset what an earlier call chose): a
   * `test-unlabelled` step is run again on each test distribution's images
   * (src/eval/test-distributions-run.ts), and one subset's choice must not leak into another's.
   */
  run(ctx: PostHocContext): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export interface PostHocContext {
  model: MethodModel;
  /** Val logits (raw model output) and labels; `reads: 'val'` only. The caller disposes them. */
  val?: { logits: tf.Tensor2D; labels: Int32Array };
  /** Batches of test images without labels; `reads: 'test-unlabelled'` only. */
  testImages?: () => AsyncIterable<tf.Tensor4D>;
  calibration?: CalibrationContext;
}

export interface MethodSetup {
  classCounts: number[];
  numClasses: number;
  /** Validated params (defaults filled in). */
  params: Record<string, unknown>;
  /** Total training epochs of the run (of the stage, for a stage with its own budget). */
  epochs: number;
  /** The stage being trained, an index into the method's `stages` (absent outside a method's own pipeline). */
  stage?: number;
}

/**
 * What post-hoc tuning may do beyond reading the val logits: evaluate val with other head options
 * (De-confound's α), and fix the chosen options for the test evaluation.
 */
export interface CalibrationContext {
  /** Val logits (raw head output) with these head options; the caller disposes them. */
  valLogitsWith(headOptions: Record<string, unknown>): Promise<tf.Tensor2D>;
  /** Sets head options for everything evaluated afterwards (test, tables). */
  setHeadOptions(headOptions: Record<string, unknown>): void;
}

/** A method configured for one run. */
export interface MethodInstance {
  /** Classifier head the method needs (default linear). */
  head?: HeadName;
  /** Head options, e.g. the cosine head's scale. */
  headOptions?: Record<string, unknown>;
  /** Training sampler (default instance). */
  sampler?: SamplerName;
  /**
   * Stream 0 changes sampler from this (0-based) epoch on, whatever sampler it started with
   * (RSG's deferred re-sampling, DRS). The new sampler's epoch order is seeded like the first's.
   */
  samplerSwitch?: { epoch: number; sampler: SamplerName };
  /**
   * Once, before the first epoch of a fresh run (not on resume: `last` has the result): fills
   * method-owned tensors from the starting model, e.g. OLTR's centroids from the training
   * features. `trainFeatures()` is `forwardFeatures` of every training image in eval mode,
   * without augmentation; the caller disposes nothing of it (the hook does).
   */
  prepare?(ctx: { model: MethodModel; trainFeatures(): Promise<{ features: tf.Tensor2D; labels: Int32Array }> }): Promise<void>;
  /**
   * The model (default: the recipe's backbone + `head` with `headOptions`, src/models/model.ts).
   * Build method-owned parameters and buffers (centres, queues, a momentum copy) here, into the
   * model's store, after the trunk and heads so existing names keep their seeded values.
   */
  buildModel?(ctx: ModelBuildContext): MethodModel;
  /** Input streams of each step (default one: the training sampler, one view). */
  streams?: InputStream[];
  /** Changes inputs and targets before the forward pass (mixup). Runs inside the step's tidy. */
  transformBatch?(batch: TrainBatch, ctx: StepContext): TrainBatch;
  /**
   * The training forward pass (default `model.forward(batch.x, true)`). Runs inside the gradient
   * tape. When it concatenates streams, the rows of `batch.x` come first (training accuracy reads them).
   */
  forward?(model: MethodModel, batch: TrainBatch, ctx: StepContext): ModelOutput;
  /** Training loss. Runs inside the gradient tape. */
  loss(output: ModelOutput, labels: tf.Tensor1D, ctx: StepContext): tf.Scalar;
  /**
   * Before each training epoch (e.g. BBN's α, a curriculum). `valPerClass`: per-class val accuracy
   * (%) after the previous epoch (absent before the first; kept across a resume).
   */
  beforeEpoch?(ctx: { epoch: number; epochs: number; model: MethodModel; valPerClass?: number[] }): void;
  /** After each optimiser step, after batch-norm updates (e.g. a momentum copy, a queue). */
  afterStep?(ctx: { epoch: number; epochs: number; step: number; model: MethodModel }): void;
  /** Parameter groups with their own lr factor / weight decay; the first group naming a parameter wins. */
  paramGroups?(model: MethodModel): ParamGroup[];
  /** Logits used for accuracy (default: the raw logits). Runs inside tf.tidy. */
  predict?(output: ModelOutput): tf.Tensor2D;
  /** Steps after training, each declaring the data it reads (default none; `calibrate` is a val step). */
  postHoc?: PostHocStep[];
  /**
   * Post-hoc tuning on the validation split (never the test split), e.g. UNO-IC's β.
   * Receives val logits and labels; returns the chosen values, which go into the run record.
   */
  calibrate?(valLogits: tf.Tensor2D, valLabels: Int32Array, ctx?: CalibrationContext): Record<string, unknown> | Promise<Record<string, unknown>>;
  /**
   * Values the method derived from its params and the class counts (ESQL's λ and tail classes,
   * LDAM's margins and DRW switch epoch, class weights), for the run record.
   */
  resolvedParams?: Record<string, unknown>;
}

/**
 * One row of the survey's Tables 5 / 6 that a method fills (mmpretrain's metafile idea: the row
 * metadata lives beside the method, and the tables read it).
 */
export interface TableRow {
  /** Key of the paper's row in survey-tables.json (table5 / table6), when the paper has it. */
  paper?: string;
  /** Param values that select this row (e.g. a decoupled method's stage-1 sampler). */
  params?: Record<string, unknown>;
  /**
   * For a row the paper lacks: the paper row it follows (its `paper` key). Rows after the same
   * paper row keep registry order; a row with neither `paper` nor `after` goes to the end of its
   * family.
   */
  after?: string;
}

/** Where a method's runs go in the tables. Every field has a plain default. */
export interface TableMeta {
  /** The rows the method fills; default one row the paper lacks, at the end of its family. */
  rows?: TableRow[];
  /**
   * Params that split the method into several rows, each with the value that does not split it
   * (its default; `null`: every value splits, e.g. the decoupled methods' stage-1 sampler IB / CB /
   * SR / PB). Any other param difference inside a cell is flagged, not split, because params such
   * as the DRW epoch legitimately change with the budget.
   */
  splitBy?: Record<string, unknown>;
  /** Whether a training sampler other than instance splits a row (default true). */
  samplerSplits?: boolean;
  /** Other names records of this method may carry (table rows only; recipes use `name`). */
  aliases?: string[];
}

/**
 * A self-supervised pretext task of a `pretrain` stage: its own head over the trunk features and
 * its own targets (the class labels are discarded). E.g. rotation prediction: 4 classes.
 */
export interface Pretext {
  /** Names the pretext in the pretrain run's id and hash (runs with the same pretext are shared). */
  name: string;
  /** Classes of the pretext head. */
  classes: number;
  /** Values that change the pretext (hashed into the pretrain run's id). */
  params?: Record<string, unknown>;
  /** The batch the pretext trains on and its targets, from the image batch and the step's seeded generator (inside the step's tidy). */
  transform?(x: tf.Tensor4D, rng: Rng): { x: tf.Tensor4D; y: tf.Tensor1D };
  /**
   * A pretext that is not a classification of transformed images (MoCo v2: two views, a momentum
   * encoder, a queue) gives its own method instance instead of `transform`; its model keeps the
   * backbone under the plain names and everything else under `pretext.` (not carried to the next stage).
   */
  instance?(): MethodInstance;
}

/**
 * A class subset computed from the split and the recipe (e.g. a method's own cut by training
 * count). `select` gets the LT split's counts (a balanced twin: its long-tailed split's, so both
 * cut the same classes) and throws a RecipeError naming the key when its input is bad.
 */
export interface SubsetRule {
  /** Names the subset in run ids and messages. */
  name: string;
  select(ctx: { classCounts: number[]; params: Record<string, unknown>; thresholds: { head: number; tail: number }; recipeName: string }): number[];
}

/** Which classes a `train` stage trains on: a many-shot group, explicit class indices, or a rule. */
export type ClassSubset = 'head' | 'middle' | 'tail' | number[] | SubsetRule;

/**
 * A stage of a method's pipeline, in order, each planned as a run of its own
 * (src/lifecycle/stages.ts):
 *  - `train`: the recipe's `train:` budget with the method's loss; with `classSubset`, on those
 *    classes only (an expert a later `distill` stage reads); with `initFrom` (an earlier train
 *    stage's index), starting from that run's `last/` tensors of the same name (OLTR stage 2);
 *    the method's `create` gets the stage's index (`setup.stage`);
 *    with `from`, starting from that
 *    earlier stage's `last/` weights (every tensor of the same name and shape), and with
 *    `epochsParam`, for that param's number of epochs, and with `schedule`, on its own lr schedule
 *    (unset keys: the schema's defaults) instead of the recipe's (a fine-tuning stage, e.g. MiSLAS's stage 2);
 *  - `classifier`: a decoupled stage 2 on the frozen stage-1 backbone (src/stages/stage2.ts,
 *    configured by the recipe's `stage2:` keys); after a pretrain stage it must be the last stage
 *    and follow a `train` stage (SSP's pre-train → train → cRT), and its record carries the method's name;
 *  - `pretrain`: the backbone trained on `pretext` (or the one a function of the recipe picks,
 *    e.g. by image size) for `epochsParam`'s value (default the recipe's epochs); the next stage
 *    starts from its trunk;
 *  - `distill`: the method's loss with the frozen `teachers` (indices of earlier stages) in the
 *    step context.
 */
export type StageSpec =
  | { kind: 'train'; classSubset?: ClassSubset; initFrom?: number; from?: number; epochsParam?: string; schedule?: Partial<ScheduleSpec> }
  | { kind: 'classifier'; strategy: Stage2Strategy }
  | { kind: 'pretrain'; pretext: Pretext | ((recipe: Recipe) => Pretext); epochsParam?: string }
  | { kind: 'distill'; teachers: number[] };

export interface Method {
  /** Registry key used in recipes, e.g. "balanced-softmax". */
  name: string;
  family: Family;
  /** The survey's tags, a list: MiSLAS is both CD and Aug. The first is the main one. */
  tags: Tag[];
  /** One line for `lt-bench methods`. */
  summary: string;
  /** Paper and official code this file follows. */
  citation: { paper: string; code: string };
  /** Strict schema of `method.params`, with the shipped defaults. */
  params: z.ZodObject<z.ZodRawShape>;
  /**
   * Derived values (keys of `resolvedParams`) that the balanced reference run for UA must reuse
   * from the long-tailed run rather than derive from the balanced counts, when the recipe did not
   * set them: ESQL's λ, which on a balanced split would tie every class at the threshold.
   */
  pinnedForReference?: string[];
  /** Table placement (default: one row of its own at the end of its family). */
  table?: TableMeta;
  /**
   * Other names a recipe's `method.name` may use (SADE's earlier name `tade`); the recipe loader
   * replaces them by `name` before anything is hashed, so both name the same runs.
   */
  recipeAliases?: string[];
  /** The pipeline, in order (default: one `train` stage). */
  stages?: StageSpec[];
  /**
   * A check of the validated recipe beyond the params schema (PaCo: the queue size a multiple of
   * the batch size); returns the offending key path and what was expected, or null. `validate`
   * and every command that loads a recipe report it as a recipe error (exit 2).
   */
  checkRecipe?(recipe: Recipe): { key: string; message: string } | null;
  create(setup: MethodSetup): MethodInstance;
}
