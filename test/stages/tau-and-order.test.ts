/**
 * τ is chosen on hand-made val features (ties to the smaller τ), and stage epoch orders map the
 * sampler's positions to dataset indices and cut the epoch to the train-set size by default.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { samplerEpochOrder } from '../../src/data/epoch-order.js';
import { DEFAULT_TAU_GRID } from '../../src/stages/presets.js';
import { chooseTau } from '../../src/stages/tau-norm.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('chooseTau', () => {
  // Head class w0 = (4, 0) (‖w0‖ = 4), tail class w1 = (0, 1). Val: class 0 at (1, 0.5), class 1 at (0.5, 1).
  // Logits: class-0 sample (4^{1−τ}, 0.5), class-1 sample (0.5·4^{1−τ}, 1): both right iff 0.5 < τ < 1.5.
  const weight = () => tf.tensor2d([
    [4, 0],
    [0, 1],
  ]);
  const feats = () => tf.tensor2d([
    [1, 0.5],
    [0.5, 1],
  ]);
  const labels = Int32Array.from([0, 1]);

  it('scores every τ by val accuracy and keeps the best', () => {
    const [w, f] = [weight(), feats()];
    const c = chooseTau(f, labels, w, [2, 0, 1], 2);
    assert.deepEqual(c.grid, [0, 1, 2]);
    assert.deepEqual(c.valAccuracy, [50, 100, 50]);
    assert.equal(c.chosen, 1);
    [w, f].forEach((t) => t.dispose());
  });

  it('ties go to the smaller τ', () => {
    const [w, f] = [weight(), feats()];
    const c = chooseTau(f, labels, w, [...DEFAULT_TAU_GRID], 2);
    assert.equal(c.chosen, 0.6);
    assert.deepEqual(c.valAccuracy.slice(0, 7), [50, 50, 50, 50, 50, 50, 100]);
    [w, f].forEach((t) => t.dispose());
  });
});

describe('samplerEpochOrder', () => {
  // Dataset indices 100…109; LT train labels: eight of class 0, two of class 1.
  const all = new Int32Array(110);
  const train = Int32Array.from({ length: 10 }, (_, i) => 100 + i);
  train.forEach((idx, i) => (all[idx] = i < 8 ? 0 : 1));

  it('class-balanced, cut to the train-set size: dataset indices, classes in runs of 4', () => {
    const order = samplerEpochOrder('class-balanced', train, all, 2, 3, 'dataset', new Rng(1))(0);
    assert.equal(order.length, 10);
    for (const i of order) assert.ok(i >= 100 && i < 110);
    const classes = Array.from(order, (i) => all[i]);
    // Runs of four of one class: positions 0–3, 4–7 are one class each, and the two classes alternate.
    assert.equal(new Set(classes.slice(0, 4)).size, 1);
    assert.equal(new Set(classes.slice(4, 8)).size, 1);
    assert.notEqual(classes[0], classes[4]);
    assert.ok(classes.filter((c) => c === 1).length >= 4, 'the tail class is over-sampled');
  });

  it("'sampler' keeps the sampler's length (max n_k · C)", () => {
    assert.equal(samplerEpochOrder('class-balanced', train, all, 2, 3, 'sampler', new Rng(1))(0).length, 16);
  });

  it('is a function of (seed, epoch): a resumed run draws the same order', () => {
    const first = samplerEpochOrder('class-balanced', train, all, 2, 3, 'dataset', new Rng(7));
    const epochs = [first(0), first(1), first(2)];
    const resumed = samplerEpochOrder('class-balanced', train, all, 2, 3, 'dataset', new Rng(7));
    assert.deepEqual(resumed(2), epochs[2]);
  });
});
