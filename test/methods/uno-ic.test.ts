/**
 * UNO-IC: re-calibration formula and β chosen on the validation split.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { getMethod } from '../../src/methods/registry.js';
import { meanPerClassAccuracy, unoIcAdjust } from '../../src/methods/uno-ic.js';

// Two classes, 100 vs 1 images: log π = [ln(100/101), ln(1/101)] = [−0.00995, −4.61512].
const COUNTS = [100, 1];
const setup = (params: Record<string, unknown> = {}) => ({ classCounts: COUNTS, numClasses: 2, params, epochs: 10 });
const features = () => tf.zeros([1, 1]) as tf.Tensor2D;

before(async () => {
  await tf.setBackend('cpu');
});

describe('uno-ic', () => {
  it('softmax(z − β log π) equals the official p^(1−β)·p_r^β, normalised', () => {
    const z = [1.2, -0.4];
    const beta = 0.6;
    const pi = [100 / 101, 1 / 101];
    const e = z.map(Math.exp);
    const p = e.map((v) => v / (e[0] + e[1]));
    const r = p.map((v, j) => v / pi[j]);
    const pr = r.map((v) => v / (r[0] + r[1]));
    const out = p.map((v, j) => Math.pow(v, 1 - beta) * Math.pow(pr[j], beta));
    const official = out.map((v) => v / (out[0] + out[1]));
    const got = tf.tidy(() => tf.softmax(unoIcAdjust(tf.tensor2d([z]), COUNTS, beta)).dataSync());
    assert.ok(Math.abs(got[0] - official[0]) < 1e-6 && Math.abs(got[1] - official[1]) < 1e-6, `${got} vs ${official}`);
  });

  it('chooses the smallest β on the grid that maximises balanced val accuracy', async () => {
    // Class-1 samples (z = [3, 0]) flip to correct once 4.6052·β > 3, i.e. β > 0.6514;
    // class-0 samples (z = [5, 0]) stay correct while β < 1.0857. Best grid β: 0.7.
    const valLogits = tf.tensor2d([
      [5, 0],
      [5, 0],
      [3, 0],
      [3, 0],
    ]);
    const valLabels = new Int32Array([0, 0, 1, 1]);
    const inst = getMethod('uno-ic').create(setup());
    // Before calibration β = 0: raw logits.
    const raw = tf.tidy(() => inst.predict!({ logits: tf.tensor2d([[3, 0]]), features: features() }).arraySync());
    assert.deepEqual(raw, [[3, 0]]);
    const chosen = await inst.calibrate!(valLogits, valLabels);
    assert.equal(chosen.beta, 0.7);
    assert.equal(chosen.valMeanClassAccuracy, 1);
    const acc = chosen.accuracyByBeta as number[];
    assert.equal(acc[0], 0.5); // β = 0: every class-1 sample wrong
    assert.equal(acc[6], 0.5); // β = 0.6: still wrong
    assert.equal(acc[7], 1); // β = 0.7
    assert.equal(acc[11], 0.5); // β = 1.1: class-0 samples now wrong
    // predict now applies β = 0.7.
    const after = tf.tidy(() => inst.predict!({ logits: tf.tensor2d([[3, 0]]), features: features() }).dataSync());
    assert.ok(Math.abs(after[0] - (3 - 0.7 * Math.log(100 / 101))) < 1e-5);
    assert.ok(Math.abs(after[1] - (0 - 0.7 * Math.log(1 / 101))) < 1e-5);
    valLogits.dispose();
  });

  it('a fixed β skips the search', () => {
    const inst = getMethod('uno-ic').create(setup({ beta: 1.5 }));
    const r = inst.calibrate!(tf.tensor2d([[0, 1]]), new Int32Array([0]));
    assert.deepEqual(r, { beta: 1.5, searched: false });
  });

  it('a class without training images gets probability 0 for β > 0 (official inv_prior = 0)', () => {
    const got = tf.tidy(() => tf.softmax(unoIcAdjust(tf.tensor2d([[0, 0, 5]]), [10, 5, 0], 1)).dataSync());
    assert.ok(got[2] < 1e-12);
    const atZero = tf.tidy(() => unoIcAdjust(tf.tensor2d([[0, 0, 5]]), [10, 5, 0], 0).dataSync());
    assert.deepEqual(Array.from(atZero), [0, 0, 5]);
  });

  it('mean per-class accuracy ignores classes absent from val', () => {
    assert.equal(meanPerClassAccuracy([0, 1, 1], new Int32Array([0, 0, 1]), 3), (0.5 + 1) / 2);
  });
});
