import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { countMacs, kernelMacs, measureCost } from '../../src/eval/cost.js';
import { groupedConv2d } from '../../src/backends/grouped-conv.js';
import { selectBackend } from '../../src/backend.js';
import { getMethod } from '../../src/methods/registry.js';
import type { MethodInstance, ModelOutput } from '../../src/methods/types.js';
import { LtModel, StoreModel } from '../../src/models/model.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { testBackend } from '../foundation/helpers.js';

/**
 * conv 3×3, 2 → 4 channels, 'same' on 5×5 → global mean → linear 4 → 3 (weight stored transposed,
 * [3, 4], multiplied with transposeB); in training only, a 4 → 4 "generator" on the features.
 * MACs per image: conv 5·5·4 outputs × 3·3·2 = 1800; linear 3 × 4 = 12; generator 4 × 4 = 16.
 */
class TinyModel extends StoreModel {
  readonly store = new ParamStore(new Rng(0).fork('init'));
  readonly conv = this.store.addTrainable('conv.weight', [3, 3, 2, 4], this.store.uniform(72, 0.3));
  readonly fc = this.store.addTrainable('fc.weight', [3, 4], this.store.uniform(12, 0.3));
  readonly gen = this.store.addTrainable('gen.weight', [4, 4], this.store.uniform(16, 0.3));
  readonly momentum = this.store.addBuffer('momentum.conv', [10], 0);
  forwardFeatures(x: tf.Tensor4D): tf.Tensor2D {
    return tf.mean(tf.conv2d(x, this.conv as tf.Tensor4D, 1, 'same'), [1, 2]) as tf.Tensor2D;
  }
  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const f = training ? (tf.matMul(features, this.gen as tf.Tensor2D) as tf.Tensor2D) : features;
    return { features, logits: tf.matMul(f, this.fc as tf.Tensor2D, false, true) };
  }
  override trainingOnly(name: string): boolean {
    return name.startsWith('gen.');
  }
}

const plainMethod: MethodInstance = { loss: () => tf.scalar(0) };

test('kernelMacs: convolutions (plain, grouped, depthwise) and matrix products with either transpose', () => {
  assert.equal(kernelMacs({ name: 'Conv2D', inputShapes: [[2, 8, 8, 3], [3, 3, 3, 16]], outputShapes: [[2, 8, 8, 16]] }), 2 * 64 * 16 * 27);
  assert.equal(kernelMacs({ name: 'GroupedConv2D', inputShapes: [[1, 4, 4, 64], [3, 3, 2, 64]], outputShapes: [[1, 4, 4, 64]] }), 16 * 64 * 18);
  assert.equal(kernelMacs({ name: 'DepthwiseConv2dNative', inputShapes: [[1, 8, 8, 3], [3, 3, 3, 2]], outputShapes: [[1, 8, 8, 6]] }), 384 * 9);
  assert.equal(kernelMacs({ name: 'BatchMatMul', inputShapes: [[5, 7], [7, 3]], outputShapes: [[5, 3]] }), 5 * 3 * 7);
  assert.equal(kernelMacs({ name: 'BatchMatMul', inputShapes: [[7, 5], [7, 3]], outputShapes: [[5, 3]] }), 5 * 3 * 7, 'transposeA');
  assert.equal(kernelMacs({ name: '_FusedMatMul', inputShapes: [[2, 5, 7], [2, 3, 7], [3]], outputShapes: [[2, 5, 3]] }), 2 * 5 * 3 * 7, 'transposeB, batched');
  assert.equal(kernelMacs({ name: 'BatchMatMul', inputShapes: [[4, 4], [4, 4]], outputShapes: [[4, 4]] }), 64);
  assert.equal(kernelMacs({ name: 'Add', inputShapes: [[4], [4]], outputShapes: [[4]] }), 0);
});

test('countMacs runs the ops under tf.profile on the backend: a grouped convolution counts cin/groups per output', async () => {
  await selectBackend(testBackend);
  const before = tf.memory().numTensors;
  // 6×6×4 input, 2 groups of 2 → 6 outputs, 3×3: 36·6 outputs × 9·2 = 3888 (split into per-group convs off torch).
  const macs = await countMacs(() => {
    groupedConv2d(tf.zeros([1, 6, 6, 4]) as tf.Tensor4D, tf.zeros([3, 3, 2, 6]) as tf.Tensor4D, 1, 'same', 2);
  });
  assert.equal(macs, 3888);
  assert.equal(tf.memory().numTensors, before);
});

test('measureCost of a tiny conv + linear model: hand-counted MACs, training-only and buffer parameters apart', async () => {
  await selectBackend(testBackend);
  const m = new TinyModel();
  const before = tf.memory().numTensors;
  const cost = await measureCost(m, plainMethod, [5, 5, 2]);
  assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  assert.deepEqual(cost.macs, { test: 1800 + 12, train: 1800 + 12 + 16 });
  assert.deepEqual(cost.params, { train: 72 + 12 + 16, test: 72 + 12, buffers: 10 });
  assert.deepEqual(cost.input, [5, 5, 2]);
  assert.equal(cost.trainForward, 'model');
  // A method's own training forward (two streams, as a two-branch method) is what training counts.
  const twoStreams: MethodInstance = {
    ...plainMethod,
    streams: [{}, { sampler: 'reversed' }],
    forward: (model, batch) => model.forward(tf.concat([batch.streams[0].views[0], batch.streams[1].views[0]]) as tf.Tensor4D, true),
  };
  const two = await measureCost(m, twoStreams, [5, 5, 2]);
  assert.equal(two.trainForward, 'method');
  assert.equal(two.macs.train, 2 * (1800 + 12 + 16));
  assert.equal(two.macs.test, 1812);
  m.dispose();
});

test('ResNet-32 on 32×32×3 with 100 classes: 68,868,352 MACs (hand count) and 470,004 parameters', async () => {
  await selectBackend(testBackend);
  // conv1: 32·32·16 × 27 = 442,368; stage 1: 10 convs × 32·32·16 × 144 = 23,592,960;
  // stage 2: 16·16·32 × (144 + 9 × 288) = 22,413,312; stage 3: 8·8·64 × (288 + 9 × 576) = 22,413,312;
  // fc 64 × 100 = 6,400. Option-A shortcuts (pad) cost nothing.
  const hand = 442_368 + 23_592_960 + 22_413_312 + 22_413_312 + 6_400;
  assert.equal(hand, 68_868_352);
  const method = getMethod('softmax').create({ classCounts: new Array(100).fill(5), numClasses: 100, params: {}, epochs: 1 });
  const m = new LtModel({ backbone: 'resnet32', head: 'linear', inChannels: 3, numClasses: 100, seed: 0 });
  const runningMean = Array.from(m.store.buffers.values())[0].dataSync().slice();
  const cost = await measureCost(m, method, [32, 32, 3]);
  assert.equal(cost.macs.test, hand);
  assert.equal(cost.macs.train, hand);
  assert.equal(cost.params.train, 470_004);
  assert.equal(cost.params.test, 470_004);
  assert.equal(cost.params.buffers, m.store.buffers.size > 0 ? [...m.store.buffers.values()].reduce((s, v) => s + v.size, 0) : 0);
  // The training forward's batch-norm updates were dropped: the running statistics are untouched.
  assert.deepEqual(Array.from(Array.from(m.store.buffers.values())[0].dataSync()), Array.from(runningMean));
  m.dispose();
});
