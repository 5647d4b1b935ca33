/**
 * The method contract. A long-tailed method changes one or more of: the sampler, the loss, the
 * classifier head, the stages, the prediction. Each is a hook with a plain default, so a method
 * file only says what it changes.
 */
import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { LossContext } from '../losses/types.js';
import type { Stage2Strategy } from '../results/types.js';

export type Family = 'baseline' | 'CR' | 'IA' | 'MI';
export type Tag = 'Baseline' | 'Sampling' | 'CSL' | 'LA' | 'TL' | 'Aug' | 'RL' | 'CD' | 'DT' | 'Ensemble';
export type SamplerName = 'instance' | 'class-balanced' | 'square-root' | 'progressive' | 'reversed';
export type HeadName = 'linear' | 'cosine' | 'tau-norm' | 'lws' | 'ncm' | 'causal';

/** What the model produces for a batch. */
export interface ModelOutput {
  logits: tf.Tensor2D;
  features: tf.Tensor2D;
}

export interface MethodSetup {
  classCounts: number[];
  numClasses: number;
  /** Validated params (defaults filled in). */
  params: Record<string, unknown>;
  /** Total training epochs of the run. */
  epochs: number;
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
  /** Training loss. Runs inside the gradient tape. */
  loss(output: ModelOutput, labels: tf.Tensor1D, ctx: LossContext): tf.Scalar;
  /** Logits used for accuracy (default: the raw logits). Runs inside tf.tidy. */
  predict?(output: ModelOutput): tf.Tensor2D;
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
 * A stage of a method's pipeline, in order. Today's kinds: `train` (the recipe's `train:` budget
 * with the method's loss) and `classifier` (a decoupled stage 2 on the frozen stage-1 backbone,
 * src/stages/stage2.ts, configured by the recipe's `stage2:` keys).
 */
export type StageSpec = { kind: 'train' } | { kind: 'classifier'; strategy: Stage2Strategy };

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
  /** The pipeline, in order (default: one `train` stage). */
  stages?: StageSpec[];
  create(setup: MethodSetup): MethodInstance;
}
