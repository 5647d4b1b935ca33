/**
 * An estimate of the activation memory one training step needs, printed before training (batch
 * 256 at 224 px may not fit one GPU: train.accumulate splits the step). It runs one forward pass
 * of a single zero image in training mode on the chosen backend and reads how much tensor memory
 * (tf.memory().numBytes) the pass holds at its end — the activations the backward pass keeps —
 * then scales by the micro-batch size. An estimate: the backward pass, gradients, the optimiser's
 * buffers and the backend's workspace come on top, and backends may free or fuse intermediates.
 */
import * as tf from '@tensorflow/tfjs';
import type { MethodModel } from '../methods/types.js';

export interface ActivationEstimate {
  /** Tensor bytes one image's forward pass holds (training mode). */
  bytesPerImage: number;
  /** Images per micro-batch (train.batchSize / train.accumulate). */
  microBatch: number;
  accumulate: number;
  /** bytesPerImage × microBatch. */
  bytesPerStep: number;
  backend: string;
}

export function estimateActivationMemory(model: MethodModel, imageShape: [number, number, number], microBatch: number, accumulate: number): ActivationEstimate {
  const before = tf.memory().numBytes;
  let held = 0;
  tf.tidy(() => {
    const x = tf.zeros([1, ...imageShape]) as tf.Tensor4D;
    model.forward(x, true);
    held = tf.memory().numBytes - before;
  });
  // The batch-norm running statistics this pass queued must not reach the model.
  model.store.discardUpdates();
  return { bytesPerImage: held, microBatch, accumulate, bytesPerStep: held * microBatch, backend: tf.getBackend() };
}

export function describeActivationEstimate(e: ActivationEstimate): string {
  const mib = (b: number) => (b / 2 ** 20).toFixed(b < 2 ** 20 ? 3 : 1);
  return `activation memory (estimate): ~${mib(e.bytesPerStep)} MiB per micro-batch of ${e.microBatch}${e.accumulate > 1 ? ` (batch split in ${e.accumulate})` : ''}, ${mib(e.bytesPerImage)} MiB per image (one training-mode forward on ${e.backend}; gradients, optimiser state and workspace come on top)`;
}
