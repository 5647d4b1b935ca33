/**
 * The training loop of one stage: epochs of seeded batches, SGD with the epoch-derived schedule,
 * batch-norm buffer updates, per-epoch validation, `last`/`best` checkpoints and resumption.
 *
 * Every random choice derives from the training seed and its position (epoch, step), so a run
 * resumed from `last` — also one interrupted mid-epoch — draws exactly what an uninterrupted
 * run would have drawn.
 */
import { allFinite, DynamicLossScaler, type LossScalerState } from './loss-scaler.js';
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import { streamRng, type BatchSource, type ViewPreset } from '../data/batch-source.js';
import type { Group } from '../data/types.js';
import { evaluate } from '../eval/evaluate.js';
import { InterruptedError } from '../errors.js';
import type { MethodInstance, MethodModel, StepContext, TrainBatch } from '../methods/types.js';
import type { EpochLine, EvalMetrics } from '../results/types.js';
import { Rng } from '../rng.js';
import { checkpointExists, loadCheckpoint, restoreVariables, saveCheckpoint } from './checkpoint.js';
import type { Reporter } from './reporter.js';
import { learningRate, type ScheduleSpec } from './schedule.js';
import { Sgd, type SgdOptions } from './sgd.js';
import { autogradChoice, NativeGraphCutError, nativeVariableGrads, type AutogradChoice } from '../backends/torch/autograd.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  seed: number;
  lr: number;
  schedule: ScheduleSpec;
  sgd: SgdOptions;
  evalBatchSize: number;
  /**
   * Gradient accumulation: each step sums the gradients of `accumulate` micro-batches of
   * batchSize/accumulate images (weighted by their share of the batch), so the update equals the
   * full-batch one for losses that average over images; batch norm sees each micro-batch alone.
   */
  accumulate?: number;
  /** Dynamic loss scaling (fp16): the loss is scaled for the backward pass, steps with inf/NaN gradients are skipped. */
  lossScaling?: boolean;
}

/** Host-side images of one stream and view of a step. */
export interface HostBatch {
  x: Float32Array;
  y: Int32Array;
  shape: [number, number, number, number];
}

export interface TrainInputs {
  model: MethodModel;
  method: MethodInstance;
  /** Training images (augmented by the source in 'train' mode) and the item ids of the split. */
  train: { source: BatchSource; indices: Int32Array };
  val: { source: BatchSource; indices: Int32Array };
  numClasses: number;
  groups: Group[];
  /** Orders the training indices of an epoch; default: a seeded shuffle (instance sampling). */
  epochOrder?: (epoch: number, rng: Rng) => Int32Array;
  /**
   * Input streams beyond stream 0 (the method's `streams[1..]`, e.g. BBN's reversed sampler), each
   * with its epoch order; every stream's epoch is as long as stream 0's.
   */
  extraStreams?: Array<{ epochOrder: (epoch: number, rng: Rng) => Int32Array }>;
  /** Augmented views per stream (index = stream; default 1 each). */
  views?: number[];
  /** View presets per stream and view (default all 'basic': the source's own augmentation). */
  presets?: ViewPreset[][];
  /** Where `last/` and `best/` go. */
  checkpointDir: string;
  reporter: Reporter;
  /** Set `interrupted` (e.g. on SIGINT) to stop after the current step with `last` saved. */
  signal?: { interrupted: boolean };
  /** Called after each epoch's line is complete (the record appends it). */
  onEpoch?: (line: EpochLine) => void;
  /** Added to every step's context (a distill stage's teachers). */
  stepContext?: Pick<StepContext, 'teachers' | 'teacherLogits' | 'teacherClasses' | 'teacherValPerClass'>;
}

/** What `last` stores besides the tensors. */
interface TrainState {
  epoch: number;
  step: number;
  lossSum: number;
  correct: number;
  seen: number;
  bestValTop1: number;
  bestEpoch: number | null;
  trainSeconds: number;
  trainImages: number;
  epochSeconds: number;
  /** Per-class val accuracy after the last finished epoch (beforeEpoch's `valPerClass`). */
  valPerClass?: number[];
  /** The fp16 loss scaler's state (cfg.lossScaling). */
  lossScaler?: LossScalerState;
}

export interface TrainResult {
  bestEpoch: number | null;
  bestValTop1: number | null;
  valLast: EvalMetrics | null;
  trainImagesPerSec: number;
  resumedFrom: { epoch: number; step: number } | null;
  /** With cfg.lossScaling: the final scale and the steps skipped for inf/NaN gradients. */
  lossScale?: { final: number; skippedSteps: number };
  /** The engine that computed the gradients (at the end of the run: a refused native path says 'tape' and why). */
  autograd: AutogradChoice;
}

/** Index order of one epoch: a seeded shuffle of the training indices. */
export function shuffledOrder(indices: Int32Array, rng: Rng): Int32Array {
  return rng.shuffle(Int32Array.from(indices));
}

/** The torch backend reports its native tensor table in tf.memory(); a leak shows there first. */
function backendTensorCount(): { backendTensors?: number } {
  const n = (tf.memory() as { nativeTensors?: number }).nativeTensors;
  return typeof n === 'number' ? { backendTensors: n } : {};
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  // A last batch of one image is dropped: batch norm needs two.
  const full = Math.floor(n / batchSize);
  return n % batchSize > 1 ? full + 1 : Math.max(full, 1);
}

export async function train(inputs: TrainInputs, cfg: TrainConfig): Promise<TrainResult> {
  const { model, method, reporter } = inputs;
  const lastDir = path.join(inputs.checkpointDir, 'last');
  const bestDir = path.join(inputs.checkpointDir, 'best');
  const vars = model.store.optimisable();
  const groups = method.paramGroups?.(model);
  const sgd = new Sgd(groups && groups.length > 0 ? { ...cfg.sgd, groups } : cfg.sgd);
  const streamCount = 1 + (inputs.extraStreams?.length ?? 0);
  const viewsOf = (s: number) => inputs.views?.[s] ?? 1;
  // A non-basic view asks its source for that preset; a basic one passes the options it always did.
  const presetOf = (s: number, v: number) => {
    const p = inputs.presets?.[s]?.[v];
    return p && p !== 'basic' ? { preset: p } : {};
  };
  const multi = streamCount > 1 || viewsOf(0) > 1;
  // Each extra stream and view augments from its own seeded stream; stream 0 view 0 keeps the run's seed.
  const viewSeed = (s: number, v: number) => (s === 0 && v === 0 ? cfg.seed : new Rng(cfg.seed).fork(`stream:${s}:view:${v}`).nextUint32());
  const accumulate = cfg.accumulate ?? 1;
  if (!Number.isInteger(accumulate) || accumulate < 1 || cfg.batchSize % accumulate !== 0) {
    throw new Error(`train.accumulate: ${accumulate} must be an integer >= 1 dividing train.batchSize ${cfg.batchSize}`);
  }
  let state: TrainState = { epoch: 0, step: 0, lossSum: 0, correct: 0, seen: 0, bestValTop1: -Infinity, bestEpoch: null, trainSeconds: 0, trainImages: 0, epochSeconds: 0 };
  let resumedFrom: TrainResult['resumedFrom'] = null;

  if (checkpointExists(lastDir)) {
    const ck = loadCheckpoint<TrainState>(lastDir);
    restoreVariables(model.store.all(), ck.tensors, lastDir);
    for (const [name] of vars) {
      const buf = ck.tensors.get(`sgd.${name}`);
      if (buf) sgd.buffers.set(name, tf.variable(tf.tensor(buf.data, buf.shape), false));
    }
    state = { ...ck.meta, bestValTop1: ck.meta.bestValTop1 ?? -Infinity };
    resumedFrom = { epoch: state.epoch, step: state.step };
  }

  const scaler = cfg.lossScaling ? new DynamicLossScaler(state.lossScaler) : undefined;
  // Native autograd on torch (src/backends/torch/autograd.ts); a step it refuses switches the run to the tape.
  const autograd = autogradChoice();
  const onFallback = (why: string) => reporter.warn?.(`native autograd refused, training on the tape from here: ${why}`);
  const saveLast = () => {
    if (scaler) state.lossScaler = scaler.state();
    const tensors = new Map<string, tf.Tensor>(model.store.all());
    for (const [name, b] of sgd.buffers) tensors.set(`sgd.${name}`, b);
    saveCheckpoint(lastDir, tensors, state);
  };

  const order = inputs.epochOrder ?? ((_e: number, rng: Rng) => shuffledOrder(inputs.train.indices, rng));
  let valLast: EvalMetrics | null = null;
  try {
    for (; state.epoch < cfg.epochs; state.epoch++) {
      const epoch = state.epoch;
      const lr = learningRate(cfg.schedule, cfg.lr, epoch, cfg.epochs);
      const indices = order(epoch, streamRng(cfg.seed, `sampler:${epoch}`));
      const steps = stepsPerEpoch(indices.length, cfg.batchSize);
      reporter.epochStart?.(epoch, steps, lr);
      let t0 = performance.now();
      // The batches the epoch trains on (a last batch of one image is dropped, see stepsPerEpoch).
      const usable = indices.subarray(0, Math.min(indices.length, steps * cfg.batchSize));
      const batches = inputs.train.source.epoch(usable, cfg.batchSize, { mode: 'train', seed: cfg.seed, epoch, firstStep: state.step, ...presetOf(0, 0) })[Symbol.asyncIterator]();
      // Every other stream / view: [stream][view], with [0][0] the iterator above.
      const others: Array<Array<AsyncIterator<HostBatch> | null>> = [];
      if (multi) {
        for (let s = 0; s < streamCount; s++) {
          const order = s === 0 ? usable : cycleTo(inputs.extraStreams![s - 1].epochOrder(epoch, streamRng(cfg.seed, `sampler:${epoch}:stream${s}`)), usable.length);
          others.push(
            Array.from({ length: viewsOf(s) }, (_, v) =>
              s === 0 && v === 0 ? null : inputs.train.source.epoch(order, cfg.batchSize, { mode: 'train', seed: viewSeed(s, v), epoch, firstStep: state.step, ...presetOf(s, v) })[Symbol.asyncIterator](),
            ),
          );
        }
      }
      method.beforeEpoch?.({ epoch, epochs: cfg.epochs, model, ...(state.valPerClass ? { valPerClass: state.valPerClass } : {}) });
      try {
        for (; state.step < steps; state.step++) {
          const step = state.step;
          const next = await batches.next();
          if (next.done) throw new Error(`batch source ended at step ${step + 1} of ${steps} (epoch ${epoch + 1})`);
          const batch = next.value;
          let streams: HostBatch[][] | undefined;
          if (multi) {
            streams = [];
            for (const row of others) {
              const views: HostBatch[] = [];
              for (const it of row) {
                if (it === null) {
                  views.push(batch);
                  continue;
                }
                const n = await it.next();
                if (n.done) throw new Error(`an input stream ended at step ${step + 1} of ${steps} (epoch ${epoch + 1})`);
                views.push(n.value);
              }
              streams.push(views);
            }
          }
          const lossRng = streamRng(cfg.seed, `loss:${epoch}:${step}`);
          const { loss, correct, skipped } = batch.y.length > 0 ? accumulatedStep(model, method, sgd, vars, batch, accumulate, lr, { ...inputs.stepContext, epoch, epochs: cfg.epochs, rng: lossRng, step }, streams, scaler, autograd, onFallback) : { loss: Promise.resolve(0), correct: Promise.resolve(0), skipped: false };
          const lossValue = await loss;
          const correctValue = await correct;
          if (batch.y.length > 0) method.afterStep?.({ epoch, epochs: cfg.epochs, step, model });
          // A step the fp16 loss scaler skipped (inf/NaN gradients) is the scaler's business, not divergence.
          if (!Number.isFinite(lossValue) && !skipped) throw new Error(`training diverged: loss is ${lossValue} at epoch ${epoch + 1}, step ${step + 1}`);
          state.lossSum += (Number.isFinite(lossValue) ? lossValue : 0) * batch.y.length;
          state.correct += correctValue;
          state.seen += batch.y.length;
          state.trainImages += batch.y.length;
          reporter.step?.(step, lossValue);
          // Let the event loop run (signal handlers such as Ctrl-C, progress output) once a step.
          await new Promise((resolve) => setImmediate(resolve));
          if (inputs.signal?.interrupted) {
            const now = performance.now();
            state.trainSeconds += (now - t0) / 1000;
            state.epochSeconds += (now - t0) / 1000;
            state.step++;
            saveLast();
            throw new InterruptedError(`interrupted at epoch ${epoch + 1}, step ${step + 1}; 'last' saved, rerun the same command to resume`);
          }
        }
      } finally {
        // Stops the source's prefetch when the epoch ends early (interrupt, error).
        await batches.return?.(undefined);
        for (const row of others) for (const it of row) await it?.return?.(undefined);
      }
      const trainDone = performance.now();
      state.trainSeconds += (trainDone - t0) / 1000;
      state.epochSeconds += (trainDone - t0) / 1000;
      const val = await evaluate(model, method, inputs.val.source, inputs.val.indices, cfg.evalBatchSize, inputs.numClasses, inputs.groups, reporter.evaluation ? (done, total) => reporter.evaluation!({ what: 'val', done, total }) : undefined);
      valLast = val;
      const line: EpochLine = {
        epoch: epoch + 1,
        lr,
        trainLoss: state.lossSum / Math.max(1, state.seen),
        trainAcc: (100 * state.correct) / Math.max(1, state.seen),
        valTop1: val.top1,
        valGroups: val.groups,
        seconds: state.epochSeconds + (performance.now() - trainDone) / 1000,
        imagesPerSec: state.seen / Math.max(1e-9, state.epochSeconds),
        numTensors: tf.memory().numTensors,
        ...backendTensorCount(),
      };
      if (val.top1 > state.bestValTop1) {
        state.bestValTop1 = val.top1;
        state.bestEpoch = epoch + 1;
        saveCheckpoint(bestDir, model.store.all(), { epoch: epoch + 1, valTop1: val.top1 });
      }
      inputs.onEpoch?.(line);
      reporter.epochEnd?.(line);
      // Kept only for a method that reads it (a checkpoint of 1000 numbers per epoch otherwise).
      Object.assign(state, { step: 0, lossSum: 0, correct: 0, seen: 0, epochSeconds: 0, epoch: epoch + 1, ...(method.beforeEpoch ? { valPerClass: val.perClass } : {}) });
      saveLast();
      state.epoch = epoch; // the for-loop increments it
      t0 = performance.now();
    }
  } finally {
    sgd.dispose();
  }
  return {
    bestEpoch: state.bestEpoch,
    bestValTop1: Number.isFinite(state.bestValTop1) ? state.bestValTop1 : null,
    valLast,
    trainImagesPerSec: state.trainImages / Math.max(1e-9, state.trainSeconds),
    resumedFrom,
    ...(scaler ? { lossScale: { final: scaler.scale, skippedSteps: scaler.state().skipped } } : {}),
    autograd,
  };
}

/**
 * One optimiser step over `batch`, as `accumulate` micro-batches of batchSize/accumulate images.
 * The loss of micro-batch i (a mean over its n_i images) is weighted by n_i / n, so the summed
 * gradient is the gradient of the whole batch's mean loss. With accumulate 1 this is exactly the
 * single-batch step (no weighting). Batch-norm buffer updates are applied after each micro-batch,
 * as PyTorch's accumulation does. Returns the batch's mean loss and correct count (read later).
 * With `autograd.engine` 'native' the gradients come from libtorch's autograd (one backward call);
 * a micro-batch that native autograd refuses (a cpu-forwarded kernel cut the graph) is redone on
 * the tape, and `autograd` switches to the tape with the reason (the caller keeps it for the run).
 */
export function accumulatedStep(
  model: MethodModel,
  method: MethodInstance,
  sgd: Sgd,
  vars: Map<string, tf.Variable>,
  batch: HostBatch,
  accumulate: number,
  lr: number,
  ctx: { epoch: number; epochs: number; rng: Rng; step?: number } & Pick<StepContext, 'teachers' | 'teacherLogits' | 'teacherClasses' | 'teacherValPerClass'>,
  streams?: HostBatch[][],
  scaler?: DynamicLossScaler,
  autograd: AutogradChoice = { engine: 'tape', reason: 'not asked' },
  onFallback?: (why: string) => void,
): { loss: Promise<number>; correct: Promise<number>; skipped: boolean } {
  const scale = scaler?.scale ?? 1;
  const [n, h, w, c] = batch.shape;
  const micro = Math.ceil(n / accumulate);
  const per = h * w * c;
  let sum: Record<string, tf.Tensor> | null = null;
  let lossSum: tf.Tensor | null = null;
  let correctSum: tf.Tensor | null = null;
  for (let start = 0; start < n; start += micro) {
    const end = Math.min(n, start + micro);
    const weight = (end - start) / n;
    const kept: { correct?: tf.Tensor } = {};
    const { value, grads } = tf.tidy(() => {
      const x = tf.tensor4d(accumulate === 1 ? batch.x : batch.x.subarray(start * per, end * per), [end - start, h, w, c]);
      const y = tf.tensor1d(accumulate === 1 ? batch.y : batch.y.subarray(start, end), 'int32');
      let trainBatch: TrainBatch = { x, y, streams: streams ? streams.map((views) => slicedStream(views, accumulate === 1 ? null : [start, end], x, y, batch)) : [{ views: [x], y }] };
      const stepCtx = { ...ctx, batch: trainBatch, model };
      if (method.transformBatch) {
        trainBatch = method.transformBatch(trainBatch, stepCtx);
        stepCtx.batch = trainBatch;
      }
      const lossFn = () => {
        const out = method.forward ? method.forward(model, trainBatch, stepCtx) : model.forward(trainBatch.x, true);
        // Training accuracy reads the rows of stream 0 view 0 (a multi-stream forward puts them first),
        // against the labels the loss trains on (a pretext's rotation labels, not the classes).
        const target = trainBatch.y;
        const logits = out.logits.shape[0] === target.shape[0] ? out.logits : tf.slice(out.logits, [0, 0], [target.shape[0], -1]);
        kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), target), 'int32')));
        const loss = method.loss(out, trainBatch.y, stepCtx);
        const weighted = accumulate === 1 ? loss : tf.mul(loss, weight);
        return (scale === 1 ? weighted : tf.mul(weighted, scale)) as tf.Scalar;
      };
      if (autograd.engine === 'native') {
        const rngState = stepCtx.rng.state();
        try {
          return nativeVariableGrads(lossFn, [...vars.values()]);
        } catch (e) {
          if (!(e instanceof NativeGraphCutError)) throw e;
          // Nothing of the refused forward survives: its buffer updates, its count, its random draws.
          model.store.discardUpdates();
          kept.correct?.dispose();
          kept.correct = undefined;
          autograd.engine = 'tape';
          autograd.reason = `${e.message} (epoch ${ctx.epoch + 1}, step ${(ctx.step ?? 0) + 1})`;
          onFallback?.(autograd.reason);
          stepCtx.rng = Rng.fromState(rngState);
        }
      }
      return tf.variableGrads(lossFn, [...vars.values()]);
    });
    model.store.applyUpdates();
    const named: Record<string, tf.Tensor> = {};
    // A variable the step's loss did not reach has no gradient (RSG's generator before its epoch): SGD skips it.
    for (const [name, v] of vars) if (grads[v.name]) named[name] = grads[v.name];
    if (sum === null) {
      sum = named;
      lossSum = value;
      correctSum = kept.correct!;
    } else {
      const prev = sum;
      sum = {};
      for (const name of new Set([...Object.keys(prev), ...Object.keys(named)])) {
        if (prev[name] && named[name]) {
          sum[name] = tf.add(prev[name], named[name]);
          prev[name].dispose();
          named[name].dispose();
        } else sum[name] = prev[name] ?? named[name];
      }
      const l: tf.Tensor = tf.add(lossSum!, value);
      const k: tf.Tensor = tf.add(correctSum!, kept.correct!);
      lossSum!.dispose();
      value.dispose();
      correctSum!.dispose();
      kept.correct!.dispose();
      lossSum = l;
      correctSum = k;
    }
  }
  let skipped = false;
  if (scaler) {
    // GradScaler.unscale_ then step: the gradients back at their true size, or no step at all.
    skipped = !scaler.update(allFinite(Object.values(sum!)));
    if (!skipped) {
      const scaled = sum!;
      sum = Object.fromEntries(Object.entries(scaled).map(([k, g]) => [k, tf.div(g, scale)]));
      for (const g of Object.values(scaled)) g.dispose();
    }
    const unscaled = tf.div(lossSum!, scale);
    lossSum!.dispose();
    lossSum = unscaled;
  }
  if (!skipped) sgd.step(vars, sum!, lr);
  for (const g of Object.values(sum!)) g.dispose();
  const lossT = lossSum!;
  const correctT = correctSum!;
  const read = async (t: tf.Tensor) => {
    try {
      return (await t.data())[0];
    } finally {
      t.dispose();
    }
  };
  return { loss: read(lossT), correct: read(correctT), skipped };
}

/** One stream's views as tensors (a micro-batch's slice of them); stream 0 view 0 reuses `x`, `y`. */
function slicedStream(views: HostBatch[], range: [number, number] | null, x: tf.Tensor4D, y: tf.Tensor1D, main: HostBatch): { views: tf.Tensor4D[]; y: tf.Tensor1D } {
  const tensors = views.map((b) => {
    if (b === main) return x;
    const [n, h, w, c] = b.shape;
    const [s, e] = range ? [Math.min(range[0], n), Math.min(range[1], n)] : [0, n];
    return tf.tensor4d(range ? b.x.subarray(s * h * w * c, e * h * w * c) : b.x, [e - s, h, w, c]);
  });
  const first = views[0];
  const labels = first === main ? y : tf.tensor1d(range ? first.y.subarray(Math.min(range[0], first.y.length), Math.min(range[1], first.y.length)) : first.y, 'int32');
  return { views: tensors, y: labels };
}

/** An order repeated (or cut) to `length` items: extra streams follow stream 0's epoch length. */
function cycleTo(order: Int32Array, length: number): Int32Array {
  if (order.length === length) return order;
  if (order.length === 0) throw new Error('an input stream has an empty epoch');
  const out = new Int32Array(length);
  for (let i = 0; i < length; i++) out[i] = order[i % order.length];
  return out;
}
