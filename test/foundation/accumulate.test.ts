/**
 * train.accumulate: an optimiser step over k micro-batches equals the full-batch step (losses
 * averaging over images, no batch norm), checked against the hand-computed gradient of mean
 * softmax cross-entropy on a linear model.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { MethodInstance } from '../../src/methods/types.js';
import type { LtModel } from '../../src/models/model.js';
import { Rng } from '../../src/rng.js';
import { runRecipe } from '../../src/lifecycle/index.js';
import { Sgd } from '../../src/train/sgd.js';
import { accumulatedStep } from '../../src/train/trainer.js';
import { testBackend, tinyRecipe } from './helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const D = 4; // 2×2×1 images
const K = 3;
const W0 = [0.1, -0.2, 0.3, 0.05, 0.4, -0.1, -0.3, 0.2, 0.0, 0.25, -0.15, 0.1]; // [D, K] row-major
const B0 = [0.01, -0.02, 0.03];
const X = [
  [1, 0, 0.5, -1],
  [0, 1, -0.5, 2],
  [0.3, 0.3, 1, 0],
  [-1, 0.5, 0, 1],
];
const Y = [0, 2, 1, 2];

/** W and b after one SGD step (lr 0.5, no momentum / decay) over the first n images, by hand. */
function handStep(n: number, lr = 0.5): { w: number[]; b: number[] } {
  const gw = new Array(D * K).fill(0);
  const gb = new Array(K).fill(0);
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: K }, (_, k) => B0[k] + X[i].reduce((a, x, d) => a + x * W0[d * K + k], 0));
    const m = Math.max(...z);
    const e = z.map((v) => Math.exp(v - m));
    const s = e.reduce((a, v) => a + v, 0);
    for (let k = 0; k < K; k++) {
      const dz = (e[k] / s - (Y[i] === k ? 1 : 0)) / n; // d mean-CE / dz
      gb[k] += dz;
      for (let d = 0; d < D; d++) gw[d * K + k] += X[i][d] * dz;
    }
  }
  return { w: W0.map((v, j) => v - lr * gw[j]), b: B0.map((v, k) => v - lr * gb[k]) };
}

function linearStep(n: number, accumulate: number): { w: number[]; b: number[]; loss: Promise<number> } {
  const w = tf.variable(tf.tensor2d(W0, [D, K]), true, `w${n}${accumulate}`);
  const b = tf.variable(tf.tensor1d(B0), true, `b${n}${accumulate}`);
  const model = {
    forward: (x: tf.Tensor4D) => {
      const f = tf.reshape(x, [x.shape[0], D]) as tf.Tensor2D;
      return { features: f, logits: tf.add(tf.matMul(f, w), b) as tf.Tensor2D };
    },
    store: { applyUpdates: () => {} },
  } as unknown as LtModel;
  const method: MethodInstance = { loss: (out, y) => tf.losses.softmaxCrossEntropy(tf.oneHot(y, K), out.logits) as tf.Scalar };
  const vars = new Map<string, tf.Variable>([
    ['w', w],
    ['b', b],
  ]);
  const sgd = new Sgd({ momentum: 0, nesterov: false, weightDecay: 0 });
  const batch = { x: Float32Array.from(X.slice(0, n).flat()), y: Int32Array.from(Y.slice(0, n)), shape: [n, 2, 2, 1] as [number, number, number, number] };
  const before = tf.memory().numTensors;
  const r = accumulatedStep(model, method, sgd, vars, batch, accumulate, 0.5, { epoch: 0, epochs: 1, rng: new Rng(0) });
  const out = { w: Array.from(w.dataSync()), b: Array.from(b.dataSync()), loss: r.loss };
  sgd.dispose();
  assert.equal(tf.memory().numTensors, before + 2, 'only the loss and correct-count scalars remain (read and freed by the caller)');
  return out;
}

function close(a: number[], b: number[], tol = 1e-5): void {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol, `index ${i}: ${a[i]} vs ${b[i]}`);
}

test('accumulate 1, 2 and 4 give the hand-computed full-batch update (batch 4)', async () => {
  const want = handStep(4);
  for (const k of [1, 2, 4]) {
    const got = linearStep(4, k);
    close(got.w, want.w);
    close(got.b, want.b);
    await got.loss;
  }
});

test('an uneven last batch (3 images, accumulate 2: micro-batches of 2 and 1) weighs images equally', async () => {
  const want = handStep(3);
  const got = linearStep(3, 2);
  close(got.w, want.w);
  close(got.b, want.b);
  // The reported loss is the batch mean either way.
  const one = linearStep(3, 1);
  assert.ok(Math.abs((await got.loss) - (await one.loss)) < 1e-6);
});

test('a recipe with train.accumulate trains and records micro-batch and memory estimate', async () => {
  const r = await runRecipe(tinyRecipe({ train: { epochs: 1, batchSize: 16, accumulate: 2 } }), { backend: testBackend });
  assert.equal(r.record.status, 'finished');
  assert.equal(r.record.memory!.microBatch, 8);
  assert.equal(r.record.memory!.accumulate, 2);
  assert.equal(r.record.memory!.activationBytesEstimate, 8 * r.record.memory!.activationBytesPerImage);
  assert.ok(r.record.memory!.activationBytesPerImage > 0);
});
