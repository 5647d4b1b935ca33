import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { LtModel } from '../../src/models/model.js';

test('ResNet-32 (10 classes) has the 464,154 parameters of LDAM-DRW\'s resnet32 (BN included)', async () => {
  await tf.setBackend('cpu');
  const m = new LtModel({ backbone: 'resnet32', head: 'linear', inChannels: 3, numClasses: 10, seed: 0 });
  assert.equal(m.parameterCount(), 464154);
  m.dispose();
});

test('ResNet-8 on 28×28×1 gives 64-d features and C logits; the same seed gives the same weights', async () => {
  await tf.setBackend('cpu');
  const a = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 1, numClasses: 10, seed: 7 });
  const b = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 1, numClasses: 10, seed: 7 });
  const out = tf.tidy(() => {
    const o = a.forward(tf.ones([2, 28, 28, 1]), false);
    return [o.features.shape, o.logits.shape];
  });
  assert.deepEqual(out, [[2, 64], [2, 10]]);
  const wa = a.store.trainable.get('conv1.weight')!.dataSync();
  const wb = b.store.trainable.get('conv1.weight')!.dataSync();
  assert.deepEqual(Array.from(wa), Array.from(wb));
  a.dispose();
  b.dispose();
});

test('batch norm: training uses batch statistics and queues running-stat updates with the unbiased variance', async () => {
  await tf.setBackend('cpu');
  const m = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 1, numClasses: 2, seed: 0 });
  const conv = m.store.trainable.get('conv1.weight')!;
  // Make the stem conv the identity on channel 0 so bn1 sees the raw input.
  const w = new Float32Array(conv.size);
  w[(1 * 3 + 1) * 16 + 0] = 1; // centre tap, in 0 → out 0
  conv.assign(tf.tensor(w, conv.shape));
  const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
  tf.tidy(() => {
    m.forward(x, true);
  });
  m.store.applyUpdates();
  const rm = m.store.buffers.get('bn1.running_mean')!.dataSync()[0];
  const rv = m.store.buffers.get('bn1.running_var')!.dataSync()[0];
  // mean 4.5, biased var 5.25, unbiased 6; momentum 0.1 from (0, 1)
  assert.ok(Math.abs(rm - 0.45) < 1e-5, `running mean ${rm}`);
  assert.ok(Math.abs(rv - (0.9 + 0.6)) < 1e-5, `running var ${rv}`);
  x.dispose();
  m.dispose();
});
