/**
 * RSG: head classes, the soft assignment, L_cesc's distance term and L_mv's norm / alignment terms
 * against hand-computed values; the training forward pass appends generated tail maps only from
 * the generation epoch; the inference model and its parameter count leave the module out; and a
 * tiny run with the DRS sampler switch through the API.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { cescDistanceLoss, headClasses, mvShapeTerms, RsgModel, rsgForward, rsgMethod, rsgParameterCount, rsgParams, softAssignment } from '../../src/methods/rsg.js';
import { parameterCounts } from '../../src/eval/cost.js';
import { LtModel } from '../../src/models/model.js';
import { planRecipe, runRecipe } from '../../src/lifecycle/index.js';
import { readRecord } from '../../src/results/record.js';
import path from 'node:path';
import { testBackend, tinyRecipe } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

const close = (a: ArrayLike<number>, b: number[], tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i] - b[i]) < tol, `[${i}] ${a[i]} vs ${b[i]}`);
};

test('head classes: the 20% (here 40%) most frequent', () => {
  assert.deepEqual(headClasses([5, 100, 50, 10, 7], 0.4), [1, 2]);
  assert.deepEqual(headClasses([6000, 3000, 1500, 700, 350, 170, 80, 40, 20, 10], 0.2), [0, 1]);
  assert.deepEqual(headClasses([3, 2, 1], 0.2), [0], 'at least one');
});

test('soft assignment: softmax of the class\'s linear map of the pooled map plus its bias', () => {
  // pooled (1, 2), class 0's map [[1, 0], [0, 1]], bias 0 → softmax(1, 2) = (0.26894, 0.73106).
  const linear = tf.tensor3d([[[1, 0], [0, 1]], [[5, 5], [5, 5]]]);
  const g = softAssignment(tf.tensor2d([[1, 2]]), tf.tensor1d([0], 'int32'), linear, tf.tensor2d([[0, 0], [9, 9]]));
  close(g.dataSync(), [0.268941, 0.731059]);
});

test('L_cesc distance: Σ γ_k Σ_pixels ‖F − c_k‖² / B', () => {
  // One 1×2 map with one channel, values 1 and 3; centres 0 and 2: 1 + 9 = 10 and 1 + 1 = 2 → 0.25·10 + 0.75·2 = 4.
  const l = cescDistanceLoss(tf.tensor4d([1, 3], [1, 1, 2, 1]), tf.tensor2d([[0.25, 0.75]]), tf.tensor3d([[[0], [2]]]));
  close([l.dataSync()[0]], [4]);
  // Two rows average: a second identical row keeps 4.
  const l2 = cescDistanceLoss(tf.tensor4d([1, 3, 1, 3], [2, 1, 2, 1]), tf.tensor2d([[0.25, 0.75], [0.25, 0.75]]), tf.tensor3d([[[0], [2]], [[0], [2]]]));
  close([l2.dataSync()[0]], [4]);
});

test('L_mv shape terms: |‖T(v)‖ − ‖v‖| + Σ|t̂ ⊙ T̂(v) − 1|, over the rows', () => {
  // v = (3, 4) → 5, T(v) = (0, 2) → 2: |2 − 5| = 3; t̂ = (1, 0), T̂ = (0, 1): |0 − 1| + |0 − 1| = 2 → 5.
  const l = mvShapeTerms(tf.tensor4d([3, 4], [1, 1, 1, 2]), tf.tensor4d([0, 2], [1, 1, 1, 2]), tf.tensor4d([1, 0], [1, 1, 1, 2]));
  close([l.dataSync()[0]], [5]);
});

test('forward: generated tail maps are appended (tail labels) only from the generation epoch; the inference model has no module', () => {
  const p = rsgParams.parse({ contrastiveDim: 8, centres: 3 });
  const model = new RsgModel({ backbone: 'resnet8', inChannels: 1, numClasses: 2, seed: 0 }, p);
  const x = tf.randomNormal([4, 8, 8, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const y = tf.tensor1d([0, 0, 0, 1], 'int32');
  const batch = { x, y, streams: [{ views: [x], y }] };
  const early = rsgForward(model, batch, 0, 1, new Set([0]), 1);
  assert.equal(early.logits.shape[0], 4);
  assert.equal(early.aux!.mv.dataSync()[0], 0);
  // 3 head rows, 1 tail row: segment 3 → 3 generated maps labelled 1.
  const late = rsgForward(model, batch, 1, 1, new Set([0]), 1);
  assert.equal(late.logits.shape[0], 7);
  assert.deepEqual(Array.from(late.aux!.labels.dataSync()), [0, 0, 0, 1, 1, 1, 1]);
  assert.ok(late.aux!.mv.dataSync()[0] > 0);
  // Inference: backbone + cosine head, the same names and count as the plain model.
  const plain = new LtModel({ backbone: 'resnet8', head: 'cosine', inChannels: 1, numClasses: 2, seed: 0 });
  assert.equal(model.parameterCount(), plain.parameterCount());
  const rsgCount = [...model.store.trainable].filter(([n]) => n.startsWith('rsg.')).reduce((s, [, v]) => s + v.size, 0);
  assert.equal(rsgCount, rsgParameterCount(32, 2, 3, 8));
  assert.deepEqual(parameterCounts(model), { train: plain.parameterCount() + rsgCount, test: plain.parameterCount(), buffers: parameterCounts(model).buffers });
  assert.deepEqual(Array.from(model.forward(x, false).logits.dataSync()), Array.from(plain.forward(x, false).logits.dataSync()), 'same seeded weights, same inference');
  const inst = rsgMethod.create({ classCounts: [30, 3], numClasses: 2, params: { contrastiveDim: 8 }, epochs: 10 });
  assert.deepEqual(inst.samplerSwitch, { epoch: 8, sampler: 'class-balanced' });
  assert.deepEqual(inst.resolvedParams!.headClasses, [0]);
  // The total: LDAM on the extended batch + 0.1 L_cesc + 0.01 L_mv.
  const total = inst.loss(late, y, { epoch: 1, epochs: 10, rng: undefined as never }).dataSync()[0];
  assert.ok(Number.isFinite(total) && total > 0);
  model.dispose();
  plain.dispose();
});

test('tiny run: the sampler switches to class-balanced at the generation epoch, recorded', async () => {
  const recipe = tinyRecipe({ method: { name: 'rsg', params: { contrastiveDim: 8, threshold: 0.5 } }, train: { epochs: 2 }, reference: 'none' });
  const plan = planRecipe(recipe);
  await runRecipe(recipe, { backend: testBackend });
  const rec = readRecord(path.join(recipe.output, plan.main.runId))!;
  assert.equal(rec.status, 'finished');
  assert.deepEqual((rec.method.resolved as Record<string, unknown>).samplerSwitch, { epoch: 1, sampler: 'class-balanced' });
  assert.equal((rec.method.resolved as Record<string, unknown>).generationEpoch, 1);
});

test('samplerSwitch: stream 0 takes the second order from the switch epoch on', async () => {
  const { switchedEpochOrder } = await import('../../src/runner.js');
  const order = switchedEpochOrder((e) => Int32Array.from([e, 0]), { epoch: 2, order: (e) => Int32Array.from([e, 1]) });
  assert.deepEqual([0, 1, 2, 3].map((e) => Array.from(order(e))), [[0, 0], [1, 0], [2, 1], [3, 1]]);
  const plain = (e: number) => Int32Array.from([e]);
  assert.equal(switchedEpochOrder(plain), plain);
});
