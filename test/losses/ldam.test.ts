/**
 * LDAM margins, both variants' values and gradients, and the DRW switch epoch.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createLoss } from '../../src/losses/index.js';
import { drwStartEpoch, ldamMargins } from '../../src/losses/ldam.js';
import { classBalancedWeights } from '../../src/losses/common.js';
import type { LossContext } from '../../src/losses/types.js';
import { assertClose, ce, softmaxRow } from './reference.js';

// Cosine-like logits (the default variant's head outputs cosines in [−1, 1]).
const Z = [
  [0.8, 0.1, -0.3],
  [0.2, -0.5, 0.4],
];
const Y = [0, 2];
const COUNTS = [100, 10, 1];
// n^(−1/4) = [0.316228, 0.562341, 1], rescaled to max 0.5.
const M = [0.5 / Math.sqrt(10), 0.5 / Math.sqrt(Math.sqrt(10)), 0.5];

function run(params: Record<string, unknown>, ctx?: LossContext): { value: number; grad: number[][] } {
  const loss = createLoss('ldam-drw', { classCounts: COUNTS, ...params });
  return tf.tidy(() => {
    const labels = tf.tensor1d(Y, 'int32');
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => loss(x as tf.Tensor2D, labels, ctx))(tf.tensor2d(Z));
    return { value: value.dataSync()[0], grad: grad.arraySync() as number[][] };
  });
}

/** Expected value and gradient of mean (or weighted-mean) CE on the adjusted logits. */
function expected(adjust: (z: number[], y: number) => number[], dAdjust: number, weights?: number[]) {
  const w = Y.map((y) => (weights ? weights[y] : 1));
  const wsum = w.reduce((a, b) => a + b, 0);
  const a = Z.map((z, i) => adjust(z, Y[i]));
  const value = a.reduce((acc, ai, i) => acc + w[i] * ce(ai, Y[i]), 0) / wsum;
  const grad = a.map((ai, i) => softmaxRow(ai).map((p, j) => (w[i] * dAdjust * (p - (j === Y[i] ? 1 : 0))) / wsum));
  return { value, grad };
}

const ldamDrwAdjust = (s: number) => (z: number[], y: number) => z.map((v, j) => s * (v - (j === y ? M[y] : 0)));
const surveyAdjust = (s: number) => (z: number[], y: number) => z.map((v, j) => v - (j === y ? s * M[y] : 0));

before(async () => {
  await tf.setBackend('cpu');
});

describe('ldam margins', () => {
  it('m_k ∝ n_k^(−1/4) with max 0.5', () => {
    assertClose(ldamMargins(COUNTS, 0.5), M, 1e-12);
    assertClose(ldamMargins([16, 1], 1), [0.5, 1], 1e-12);
  });
});

describe('ldam-drw variant (default): CE(s·(cos − m_y))', () => {
  for (const scale of [30, 4]) {
    it(`value and gradient, s = ${scale}, before DRW`, () => {
      const got = run({ scale }, { epoch: 0, epochs: 200 });
      const exp = expected(ldamDrwAdjust(scale), scale);
      assertClose(got.value, exp.value, 1e-5, 'value');
      assertClose(got.grad, exp.grad, 1e-4, 'grad');
    });
  }

  it('value and gradient after DRW use the class-balanced weighted mean', () => {
    const w = classBalancedWeights(COUNTS, 0.9999);
    const got = run({ scale: 4 }, { epoch: 160, epochs: 200 });
    const exp = expected(ldamDrwAdjust(4), 4, w);
    assertClose(got.value, exp.value, 1e-5, 'value');
    assertClose(got.grad, exp.grad, 1e-4, 'grad');
  });
});

describe('survey variant: CE(z − s·m_y)', () => {
  it('value and gradient (s = 30 subtracted from unscaled logits)', () => {
    const got = run({ variant: 'survey' }, { epoch: 3, epochs: 200 });
    const exp = expected(surveyAdjust(30), 1);
    assertClose(got.value, exp.value, 1e-5, 'value');
    assertClose(got.grad, exp.grad, 1e-4, 'grad');
  });
});

describe('DRW switch', () => {
  it('switches exactly at 0-based epoch floor(drwStart · epochs)', () => {
    assert.equal(drwStartEpoch(200, 0.8), 160);
    assert.equal(drwStartEpoch(30, 0.8), 24);
    // 0.29 · 100 is 28.999999999999996 in floating point; the switch is still epoch 29.
    assert.equal(drwStartEpoch(100, 0.29), 29);
    const plain = expected(ldamDrwAdjust(30), 30).value;
    const weighted = expected(ldamDrwAdjust(30), 30, classBalancedWeights(COUNTS, 0.9999)).value;
    assert.ok(Math.abs(plain - weighted) > 1e-3, 'test needs distinguishable values');
    assertClose(run({}, { epoch: 159, epochs: 200 }).value, plain, 1e-5, 'epoch 159');
    assertClose(run({}, { epoch: 160, epochs: 200 }).value, weighted, 1e-5, 'epoch 160');
    assertClose(run({}, { epoch: 199, epochs: 200 }).value, weighted, 1e-5, 'epoch 199');
    assertClose(run({}, { epoch: 7, epochs: 10 }).value, plain, 1e-5, '7 of 10');
    assertClose(run({}, { epoch: 8, epochs: 10 }).value, weighted, 1e-5, '8 of 10');
    assertClose(run({ drwStart: 0.5 }, { epoch: 5, epochs: 10 }).value, weighted, 1e-5, 'drwStart 0.5');
  });

  it('drw: false never re-weights; no ctx means before the switch', () => {
    const plain = expected(ldamDrwAdjust(30), 30).value;
    assertClose(run({ drw: false }, { epoch: 199, epochs: 200 }).value, plain, 1e-5);
    assertClose(run({}).value, plain, 1e-5);
  });
});
