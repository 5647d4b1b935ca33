/**
 * The training loop of one stage: epochs of seeded batches, SGD with the epoch-derived schedule,
 * batch-norm buffer updates, per-epoch validation, `last`/`best` checkpoints and resumption.
 *
 * Every random choice derives from the training seed and its position (epoch, step), so a run
 * resumed from `last` — also one interrupted mid-epoch — draws exactly what an uninterrupted
 * run would have drawn.
 */
import * as tf from '@tensorflow/tfjs';
import path from 'node:path';
import type { AugmentSpec, InMemoryBatches } from '../data/batches.js';
import type { Group } from '../data/types.js';
import { evaluate } from '../eval/evaluate.js';
import { InterruptedError } from '../errors.js';
import type { MethodInstance } from '../methods/types.js';
import type { LtModel } from '../models/model.js';
import type { EpochLine, EvalMetrics } from '../results/types.js';
import { Rng } from '../rng.js';
import { checkpointExists, loadCheckpoint, restoreVariables, saveCheckpoint } from './checkpoint.js';
import type { Reporter } from './reporter.js';
import { learningRate, type ScheduleSpec } from './schedule.js';
import { Sgd, type SgdOptions } from './sgd.js';

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  seed: number;
  lr: number;
  schedule: ScheduleSpec;
  sgd: SgdOptions;
  augment: AugmentSpec | null;
  evalBatchSize: number;
}

export interface TrainInputs {
  model: LtModel;
  method: MethodInstance;
  train: { batches: InMemoryBatches; indices: Int32Array };
  val: { batches: InMemoryBatches; indices: Int32Array };
  numClasses: number;
  groups: Group[];
  /** Orders the training indices of an epoch; default: a seeded shuffle (instance sampling). */
  epochOrder?: (epoch: number, rng: Rng) => Int32Array;
  /** Where `last/` and `best/` go. */
  checkpointDir: string;
  reporter: Reporter;
  /** Set `interrupted` (e.g. on SIGINT) to stop after the current step with `last` saved. */
  signal?: { interrupted: boolean };
  /** Called after each epoch's line is complete (the record appends it). */
  onEpoch?: (line: EpochLine) => void;
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
}

export interface TrainResult {
  bestEpoch: number | null;
  bestValTop1: number | null;
  valLast: EvalMetrics | null;
  trainImagesPerSec: number;
  resumedFrom: { epoch: number; step: number } | null;
}

/** Index order of one epoch: a seeded shuffle of the training indices. */
export function shuffledOrder(indices: Int32Array, rng: Rng): Int32Array {
  return rng.shuffle(Int32Array.from(indices));
}

export function stepsPerEpoch(n: number, batchSize: number): number {
  // A last batch of one image is dropped: batch norm needs two.
  const full = Math.floor(n / batchSize);
  return n % batchSize > 1 ? full + 1 : Math.max(full, 1);
}

function streamRng(seed: number, name: string): Rng {
  return new Rng(seed).fork(name);
}

export async function train(inputs: TrainInputs, cfg: TrainConfig): Promise<TrainResult> {
  const { model, method, reporter } = inputs;
  const lastDir = path.join(inputs.checkpointDir, 'last');
  const bestDir = path.join(inputs.checkpointDir, 'best');
  const sgd = new Sgd(cfg.sgd);
  const vars = model.store.optimisable();
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

  const saveLast = () => {
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
      for (; state.step < steps; state.step++) {
        const step = state.step;
        const batchIdx = indices.subarray(step * cfg.batchSize, Math.min(indices.length, (step + 1) * cfg.batchSize));
        const batch = inputs.train.batches.make(batchIdx, cfg.augment, streamRng(cfg.seed, `augment:${epoch}:${step}`));
        const lossRng = streamRng(cfg.seed, `loss:${epoch}:${step}`);
        const kept: { correct?: tf.Tensor } = {};
        const { value, grads } = tf.tidy(() => {
          const x = tf.tensor4d(batch.x, batch.shape);
          const y = tf.tensor1d(batch.y, 'int32');
          return tf.variableGrads(() => {
            const out = model.forward(x, true);
            kept.correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(out.logits, 1), y), 'int32')));
            return method.loss(out, y, { epoch, epochs: cfg.epochs, rng: lossRng });
          }, [...vars.values()]);
        });
        const named: Record<string, tf.Tensor> = {};
        for (const [name, v] of vars) named[name] = grads[v.name];
        sgd.step(vars, named, lr);
        model.store.applyUpdates();
        const loss = (await value.data())[0];
        const correct = (await kept.correct!.data())[0];
        value.dispose();
        kept.correct!.dispose();
        for (const g of Object.values(grads)) g.dispose();
        if (!Number.isFinite(loss)) throw new Error(`training diverged: loss is ${loss} at epoch ${epoch + 1}, step ${step + 1}`);
        state.lossSum += loss * batch.y.length;
        state.correct += correct;
        state.seen += batch.y.length;
        state.trainImages += batch.y.length;
        reporter.step?.(step, loss);
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
      const trainDone = performance.now();
      state.trainSeconds += (trainDone - t0) / 1000;
      state.epochSeconds += (trainDone - t0) / 1000;
      const val = evaluate(model, method, inputs.val.batches, inputs.val.indices, cfg.evalBatchSize, inputs.numClasses, inputs.groups);
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
      };
      if (val.top1 > state.bestValTop1) {
        state.bestValTop1 = val.top1;
        state.bestEpoch = epoch + 1;
        saveCheckpoint(bestDir, model.store.all(), { epoch: epoch + 1, valTop1: val.top1 });
      }
      inputs.onEpoch?.(line);
      reporter.epochEnd?.(line);
      Object.assign(state, { step: 0, lossSum: 0, correct: 0, seen: 0, epochSeconds: 0, epoch: epoch + 1 });
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
  };
}
