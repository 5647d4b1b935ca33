/**
 * The exported API: names, param validation, usage in a tiny training loop.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createLoss, lossNames, lossParamsSchema } from '../../src/losses/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('createLoss', () => {
  it('knows the nine losses', () => {
    assert.deepEqual([...lossNames].sort(), [
      'balanced-softmax',
      'class-balanced',
      'esql',
      'focal',
      'lade',
      'ldam-drw',
      'logit-adjustment',
      'softmax',
      'weighted-softmax',
    ]);
  });

  it('throws on an unknown loss, listing the known ones', () => {
    assert.throws(() => createLoss('nope', { classCounts: [1, 2] }), /Unknown loss "nope". Known losses: softmax, /);
  });

  it('rejects unknown and ill-typed params', () => {
    assert.throws(() => createLoss('focal', { classCounts: [1, 2], gama: 2 }), /Unrecognized key.*gama/);
    assert.throws(() => createLoss('ldam-drw', { classCounts: [1, 2], drw: 'yes' }), /drw/);
    assert.throws(() => createLoss('softmax', { classCounts: [] }), /classCounts/);
  });

  it('fills the documented defaults', () => {
    assert.deepEqual(lossParamsSchema('ldam-drw').parse({}), {
      variant: 'ldam-drw',
      maxMargin: 0.5,
      scale: 30,
      drw: true,
      drwStart: 0.8,
      beta: 0.9999,
    });
    assert.deepEqual(lossParamsSchema('focal').parse({}), { gamma: 2, detach: false });
    assert.deepEqual(lossParamsSchema('class-balanced').parse({}), {
      beta: 0.9999,
      lossType: 'softmax',
      gamma: 1,
      reduction: 'weighted-mean',
    });
    assert.deepEqual(lossParamsSchema('lade').parse({}), { alpha: 0.1, remineLambda: 0.1 });
    assert.deepEqual(lossParamsSchema('esql').parse({}), { gamma: 0.9 });
    assert.deepEqual(lossParamsSchema('logit-adjustment').parse({}), { tau: 1 });
    assert.deepEqual(lossParamsSchema('weighted-softmax').parse({}), { weighting: 'log' });
  });

  it('rejects logits whose class count differs from classCounts', () => {
    const loss = createLoss('softmax', { classCounts: [1, 2, 3] });
    assert.throws(() => tf.tidy(() => loss(tf.zeros([2, 4]) as tf.Tensor2D, tf.tensor1d([0, 1], 'int32'))), /3/);
  });

  it('trains a linear model in a plain tfjs loop (the README example)', () => {
    // Two separable 2-D classes, 20 vs 2 samples.
    const xs: number[][] = [];
    const ys: number[] = [];
    for (let i = 0; i < 20; i++) { xs.push([1 + (i % 5) * 0.1, 0.5]); ys.push(0); }
    for (let i = 0; i < 2; i++) { xs.push([-1, -0.5 - i * 0.1]); ys.push(1); }
    const loss = createLoss('balanced-softmax', { classCounts: [20, 2] });
    const w = tf.variable(tf.zeros([2, 2]));
    const b = tf.variable(tf.zeros([2]));
    const opt = tf.train.sgd(0.5);
    const x = tf.tensor2d(xs);
    const y = tf.tensor1d(ys, 'int32');
    const first = tf.tidy(() => loss(tf.add(tf.matMul(x, w), b) as tf.Tensor2D, y).dataSync()[0]);
    for (let step = 0; step < 30; step++) {
      const cost = opt.minimize(() => loss(tf.add(tf.matMul(x, w), b) as tf.Tensor2D, y, { epoch: step, epochs: 30 }), true);
      cost?.dispose();
    }
    const last = tf.tidy(() => loss(tf.add(tf.matMul(x, w), b) as tf.Tensor2D, y).dataSync()[0]);
    assert.ok(last < first / 2, `loss ${first} → ${last}`);
    tf.dispose([w, b, x, y]);
    opt.dispose();
  });
});
