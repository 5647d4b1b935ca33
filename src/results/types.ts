/**
 * The run record (`results/<run-id>/run.json`): the single source of truth for tables.
 * Every field is written by the trainer; `lt-bench table` reads only these.
 */
import type { Group } from '../data/types.js';
import type { TestDistributionMetrics } from '../eval/test-distributions.js';
import type { ReliabilityBin } from '../eval/calibration-metrics.js';
import type { RunCost } from '../eval/cost.js';

export type { ReliabilityBin, RunCost };

export interface GroupAccuracy {
  head: number | null;
  middle: number | null;
  tail: number | null;
}

/** Metrics of one checkpoint on one split. Accuracies are percentages (0–100). */
export interface EvalMetrics {
  top1: number;
  perClass: number[];
  groups: GroupAccuracy;
  /** Number of evaluated images. */
  count: number;
  /**
   * Calibration of the predicted logits' softmax (src/eval/calibration-metrics.ts): expected
   * calibration error (%, 15 equal-width bins), mean NLL of the true class (nats), and the
   * reliability-diagram bins. Absent in records written before it (`lt-bench eval --split test` adds them).
   */
  ece?: number;
  nll?: number;
  reliability?: ReliabilityBin[];
}

export interface RunRecord {
  schemaVersion: 1;
  runId: string;
  status: 'running' | 'finished' | 'failed' | 'interrupted';
  recipeHash: string;
  recipePath: string | null;
  /** The recipe name, e.g. "fashion-lt/balanced-softmax". */
  name: string;
  method: {
    name: string;
    family: string;
    /** The method's first (main) tag; `tags` has them all. */
    tag: string;
    /** The survey's tags (a list: MiSLAS is CD and Aug); absent in records written before it. */
    tags?: string[];
    params: Record<string, unknown>;
    /** Values derived from the class counts (margins, class weights, ESQL's λ, …). */
    resolved?: Record<string, unknown>;
    /** Post-hoc choices made on the val split (e.g. UNO-IC's β), for the last and best checkpoints. */
    calibration?: { last: Record<string, unknown>; best: Record<string, unknown> | null };
  };
  backbone: string;
  /** Training sampler (instance, class-balanced, square-root, progressive, reversed). */
  sampler?: string;
  dataset: {
    name: string;
    profile: string;
    imbalanceRatio: number;
    balanced: boolean;
    /** 'test' when validation read the test set (the CIFAR-LT literature's practice); tables flag it. */
    valSource?: 'holdout' | 'test';
    /** RandAugment of the training images (absent: none); tables give such runs rows of their own. */
    randAugment?: { n: number; m: number };
    /** The recipe's cap on n_max (null: the full split). */
    maxPerClass?: number | null;
    splitSeed: number;
    classCounts: number[];
    groups: Group[];
    groupSizes: { head: number; middle: number; tail: number };
    thresholds: { head: number; tail: number };
    splitChecksum: string;
    sizes: { train: number; val: number; test: number };
    files: Array<{ path: string; sha256: string }>;
  };
  seeds: { train: number; split: number };
  epochs: number;
  /** Epoch (1-based) whose val accuracy was best. */
  bestEpoch: number | null;
  metrics: {
    /** Test metrics of the last-epoch checkpoint (what tables report by default). */
    last: EvalMetrics | null;
    /** Test metrics of the best-on-val checkpoint. */
    best: EvalMetrics | null;
    /** Val metrics of the last epoch. */
    valLast: EvalMetrics | null;
  };
  /** Paired balanced runs for UA/RA, with UA and RA computed at the time of the run. */
  reference: {
    vanillaBalancedRunId: string | null;
    methodBalancedRunId: string | null;
    ua: number | null;
    ra: number | null;
    /** Why UA/RA are missing at the time of the run (a reference run held by another trainer). */
    note?: string;
  } | null;
  /** Failed or interrupted runs: the error that stopped them (the run's log.txt has the rest). */
  error?: { message: string; name: string; exitCode: number; at: string };
  environment: {
    backend: string;
    device: string;
    /** Compute threads of the backend (libtorch intra-op, the wasm pool), where known. */
    threads?: number;
    node: string;
    tfjs: string;
    ltBench: string;
    gitCommit: string | null;
    platform: string;
    cpus: number;
  };
  /** train.precision of the run (absent: fp32, and in records made before the key existed). */
  precision?: 'bf16' | 'fp16';
  /** fp16 only: the dynamic loss scale at the end and the optimiser steps skipped for inf/NaN gradients. */
  lossScale?: { final: number; skippedSteps: number };
  /**
   * How gradients were computed: libtorch's autograd on `torch` ('native') or tfjs's tape, and why
   * (a native run refused mid-way says 'tape' and the kernel that cut the graph). Absent in older records.
   */
  engine?: { autograd: 'native' | 'tape'; autogradReason: string };
  parameterCount: number;
  /**
   * Parameters (training / test / buffers) and MACs per image (training forward / inference) of
   * the run's model, measured when the run starts (src/eval/cost.ts). Absent in records written
   * before it (`lt-bench eval` adds it) or when measuring failed (the run log says why).
   */
  cost?: RunCost;
  /**
   * Optional: where this run sits in Table 7 (stage-1 loss × classifier scheme). Written by the
   * recipes of the Table 7 study; `table` falls back to the method name when it is absent
   * (a plain loss method is its own "joint" cell).
   */
  table7?: Table7Descriptor;
  timing: { wallSeconds: number; trainImagesPerSec: number; startedAt: string; finishedAt: string | null };
  /**
   * Image-list datasets only: the decoding pipeline over the whole run (training and evaluation).
   * `pipelineImagesPerSec` is images decoded per second of wall time with a batch in flight;
   * `skipped` counts bad images left out (dataset.badImages: skip), `skippedFiles` the first 100.
   */
  /** The image-list pipeline: decode rate while busy, decoding workers and libuv's pool size (absent in older records). */
  data?: { pipelineImagesPerSec: number; workers?: number; libuvPool?: number; images: number; skipped: number; skippedFiles: string[] };
  /** Activation memory of one training step, estimated before training (src/train/memory.ts). */
  memory?: { activationBytesEstimate: number; activationBytesPerImage: number; microBatch: number; accumulate: number; backend: string; estimate: true };
  /**
   * A `--rehearse` run (src/rehearsal/shrink.ts): a shrunk stand-in for the real study's cell
   * `rehearsalOf`. Ordinary tables and figures leave such records out; `--rehearse` shows only them.
   */
  rehearsal?: true;
  rehearsalOf?: { dataset: string; backbone: string; epochs: number; dataVersion: number };
  /**
   * Test-agnostic evaluation (src/eval/test-distributions.ts): metrics on long-tailed subsets of
   * the test set per checkpoint and distribution name (forward-50 … uniform … backward-50).
   * Absent unless eval.testDistributions or `lt-bench eval --test-distributions` asked for them.
   */
  testDistributions?: { last?: Record<string, TestDistributionMetrics>; best?: Record<string, TestDistributionMetrics> };
  /** Trained as a task of `sweep --executor slurm` (src/slurm/task.ts). */
  slurm?: SlurmTaskInfo;
  // ---- two-stage runs (src/stages/); absent on single-stage runs ----
  /**
   * What stage 2 did on which stage-1 run. `epochs`, `bestEpoch`, `timing` and `epochs.jsonl` of a
   * stage-2 record are stage 2's own; the top-level `epochs` stays the stage-1 budget.
   */
  stage2?: Stage2Info;
}

export type Stage2Strategy = 'crt' | 'lws' | 'tau-norm' | 'ncm';

export interface Stage2Info {
  strategy: Stage2Strategy;
  /** The reused stage-1 run (its directory sits beside this one). */
  stage1RunId: string;
  /** Which stage-1 checkpoint stage 2 started from. */
  stage1Checkpoint: 'last' | 'best';
  /** The stage-1 method (Table 7's "loss"), e.g. softmax, focal. */
  stage1Loss: string;
  stage1Sampler: string;
  stage1Epochs: number;
  stage1WallSeconds: number;
  /** Stage-2 training epochs (0 for tau-norm and ncm, which do not train). */
  epochs: number;
  sampler: string | null;
  /** Epoch (1-based) of stage 2 whose val accuracy was best (null when stage 2 does not train). */
  bestEpoch: number | null;
  /** Parameters stage 2 trained (the rest is frozen). */
  trainedParameters: string[];
  /** tau-norm: the τ chosen on the val split and the val accuracy of every candidate. */
  tau?: { chosen: number; grid: number[]; valAccuracy: number[] };
  wallSeconds: number;
}

/** Table 7 coordinates of a run: the stage-1 loss (a method name, e.g. "focal") and the classifier scheme. */
export interface Table7Descriptor {
  stage1Loss: string;
  classifier: 'joint' | 'ncm' | 'crt' | 'lws' | 'tau-norm';
}

/** One line of `epochs.jsonl`. */
export interface EpochLine {
  epoch: number;
  lr: number;
  trainLoss: number;
  trainAcc: number;
  valTop1: number;
  valGroups: GroupAccuracy;
  seconds: number;
  imagesPerSec: number;
  numTensors: number;
  /** Tensors alive in the backend's own store (the torch addon's table), where it reports them. */
  backendTensors?: number;
}

/** The Slurm task that trained a run: its job ids, log, restarts and the requeue cap. */
export interface SlurmTaskInfo {
  /** The task that last ran it: `<array job>_<task>` (or the plain job id). */
  jobId: string;
  /** Every task that ran it (a resubmitted sweep's task is another job). */
  jobs: string[];
  submission: string;
  /** The task's Slurm output file. */
  log: string;
  /** SLURM_RESTART_COUNT: times the task was requeued before this attempt. */
  restarts: number;
  requeueLimit: number;
  cpusPerTask: number | null;
  node: string | null;
  /** Requeues after the warning signal before the time limit. */
  requeued?: { at: string; restart: number; ok: boolean }[];
  requeueLimitReached?: true;
}
