/**
 * Losses that shift the logits by the log prior: Balanced Softmax, logit adjustment, LADE.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createLoss, posthocAdjust } from '../../src/losses/index.js';
import { addRow, assertClose, ce, logSumExp, mean, prior, softmaxRow, type Matrix } from './reference.js';

const Z = [
  [2, 1, 0],
  [0.5, -1, 1],
];
const Y = [0, 2];
const COUNTS = [100, 10, 1];
const LOGPI = prior(COUNTS).map((p) => Math.log(p));

function valueAndGrad(name: string, params: Record<string, unknown> = {}, z: Matrix = Z, y = Y) {
  const loss = createLoss(name, { classCounts: COUNTS, ...params });
  return tf.tidy(() => {
    const labels = tf.tensor1d(y, 'int32');
    const r = tf.valueAndGrad((x: tf.Tensor) => loss(x as tf.Tensor2D, labels))(tf.tensor2d(z));
    return { value: r.value.dataSync()[0], grad: r.grad.arraySync() as number[][] };
  });
}

/** Central finite differences of a float64 JS function of the logits. */
function numericGrad(f: (z: Matrix) => number, z: Matrix, h = 1e-6): Matrix {
  return z.map((row, i) =>
    row.map((_, j) => {
      const plus = z.map((r) => [...r]);
      const minus = z.map((r) => [...r]);
      plus[i][j] += h;
      minus[i][j] -= h;
      return (f(plus) - f(minus)) / (2 * h);
    }),
  );
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('balanced-softmax', () => {
  it('value = mean CE(z + log π) and gradient = (softmax(z + log π) − onehot)/N', () => {
    const got = valueAndGrad('balanced-softmax');
    const shifted = Z.map((z) => addRow(z, LOGPI));
    assertClose(got.value, mean(shifted.map((s, i) => ce(s, Y[i]))), 1e-5);
    const expectedGrad = shifted.map((s, i) => softmaxRow(s).map((p, j) => (p - (j === Y[i] ? 1 : 0)) / Z.length));
    assertClose(got.grad, expectedGrad, 1e-5);
  });

  it('a hand-computed row: z = 0, counts [3, 1], y = 1 → −log(1/4) = ln 4', () => {
    const loss = createLoss('balanced-softmax', { classCounts: [3, 1] });
    const v = tf.tidy(() => loss(tf.zeros([1, 2]) as tf.Tensor2D, tf.tensor1d([1], 'int32')).dataSync()[0]);
    assertClose(v, Math.log(4), 1e-6);
  });
});

describe('logit-adjustment', () => {
  it('τ = 1 loss equals Balanced Softmax', () => {
    assertClose(valueAndGrad('logit-adjustment').value, valueAndGrad('balanced-softmax').value, 1e-6);
  });

  it('τ = 0.5 loss is CE(z + 0.5 log π)', () => {
    const expected = mean(Z.map((z, i) => ce(addRow(z, LOGPI.map((l) => 0.5 * l)), Y[i])));
    assertClose(valueAndGrad('logit-adjustment', { tau: 0.5 }).value, expected, 1e-5);
  });

  it('post-hoc adjustment is z − τ log π', () => {
    const got = tf.tidy(() => posthocAdjust(tf.tensor2d(Z), COUNTS, 1).arraySync());
    assertClose(got, Z.map((z) => z.map((v, j) => v - LOGPI[j])), 1e-5);
  });
});

describe('lade', () => {
  /** The survey codebase's LADELoss, written out in float64. */
  function ladeReference(z: Matrix, y: number[], alpha: number, lambda: number): number {
    const C = COUNTS.length;
    const N = z.length;
    const pi = prior(COUNTS);
    const priorCE = mean(z.map((row, i) => ce(addRow(row, LOGPI), y[i])));
    let lade = 0;
    for (let c = 0; c < C; c++) {
      let sum = 0;
      let n = 0;
      for (let i = 0; i < N; i++) if (y[i] === c) { sum += z[i][c]; n++; }
      const first = sum / (n + 1e-8);
      const second = logSumExp(z.map((row) => row[c] - LOGPI[c] + Math.log(1 / C))) - Math.log(N);
      lade -= pi[c] * (first - second - lambda * second * second);
    }
    return priorCE + alpha * lade;
  }

  it('value = PriorCE + α·LADE (defaults α = 0.1, λ = 0.1), summing over absent classes too', () => {
    // Class 1 is absent from the batch: its first term is 0 but its second term still counts.
    assertClose(valueAndGrad('lade').value, ladeReference(Z, Y, 0.1, 0.1), 1e-5);
  });

  it('other α and λ, three samples', () => {
    const z3 = [...Z, [0.3, 0.9, -0.2]];
    const y3 = [0, 2, 1];
    assertClose(valueAndGrad('lade', { alpha: 0.5, remineLambda: 0.01 }, z3, y3).value, ladeReference(z3, y3, 0.5, 0.01), 1e-5);
  });

  it('α = 0 is Balanced Softmax', () => {
    assertClose(valueAndGrad('lade', { alpha: 0 }).value, valueAndGrad('balanced-softmax').value, 1e-6);
  });

  it('gradient matches float64 finite differences of the reference', () => {
    const got = valueAndGrad('lade', { alpha: 1, remineLambda: 0.1 });
    const expected = numericGrad((z) => ladeReference(z, Y, 1, 0.1), Z);
    assertClose(got.grad, expected, 1e-4);
  });
});

describe('no tensor leaks', () => {
  it('each loss call leaves only its result', () => {
    for (const name of ['softmax', 'weighted-softmax', 'focal', 'class-balanced', 'ldam-drw', 'esql', 'balanced-softmax', 'lade', 'logit-adjustment']) {
      const loss = createLoss(name, { classCounts: COUNTS });
      const z = tf.tensor2d(Z);
      const y = tf.tensor1d(Y, 'int32');
      const before = tf.memory().numTensors;
      const v = loss(z, y, { epoch: 199, epochs: 200 });
      assert.equal(tf.memory().numTensors, before + 1, name);
      tf.dispose([v, z, y]);
    }
  });
});
