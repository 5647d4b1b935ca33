/**
 * Softmax, weighted softmax, focal and class-balanced losses against hand arithmetic.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createLoss } from '../../src/losses/index.js';
import { classBalancedWeights } from '../../src/losses/common.js';
import { weightedSoftmaxWeights } from '../../src/losses/weighted-softmax.js';
import { assertClose, ce, mean, prior, softmaxRow } from './reference.js';

const Z = [
  [2, 1, 0],
  [0.5, -1, 1],
];
const Y = [0, 2];
const COUNTS = [100, 10, 1];

function evalLoss(name: string, params: Record<string, unknown> = {}, z = Z, y = Y, counts = COUNTS): number {
  const loss = createLoss(name, { classCounts: counts, ...params });
  return tf.tidy(() => loss(tf.tensor2d(z), tf.tensor1d(y, 'int32')).dataSync()[0]);
}

function gradLoss(name: string, params: Record<string, unknown> = {}, z = Z, y = Y, counts = COUNTS): number[][] {
  const loss = createLoss(name, { classCounts: counts, ...params });
  return tf.tidy(() => {
    const labels = tf.tensor1d(y, 'int32');
    return tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D, labels))(tf.tensor2d(z)).arraySync() as number[][];
  });
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('softmax', () => {
  it('equals the mean of −log softmax(z)_y, computed by hand', () => {
    // Row 0: log(1 + e^−1 + e^−2) = 0.407606; row 1: log(e^−0.5 + e^−2 + 1) = 0.554956.
    assertClose(evalLoss('softmax'), (0.40760596 + 0.55495648) / 2, 1e-6);
  });

  it('has gradient (softmax − onehot)/N', () => {
    const expected = Z.map((z, i) => softmaxRow(z).map((p, j) => (p - (j === Y[i] ? 1 : 0)) / Z.length));
    assertClose(gradLoss('softmax'), expected, 1e-5);
  });

  it('is stable for huge logits', () => {
    const v = evalLoss('softmax', {}, [[1000, 0, -1000]], [1]);
    assertClose(v, 1000, 1e-6);
  });
});

describe('weighted-softmax', () => {
  it('log weights are 1 + ln(n_max/n_k)', () => {
    assertClose(weightedSoftmaxWeights(COUNTS, 'log'), [1, 1 + Math.log(10), 1 + Math.log(100)], 1e-12);
  });

  it('uses the weighted mean Σ w_y ℓ / Σ w_y (log weights)', () => {
    const w = [1, 1 + Math.log(10), 1 + Math.log(100)];
    const l = Z.map((z, i) => ce(z, Y[i]));
    const expected = (w[0] * l[0] + w[2] * l[1]) / (w[0] + w[2]);
    assertClose(evalLoss('weighted-softmax'), expected, 1e-6);
  });

  it('inverse weights 1/π give Σ ℓ/π_y / Σ 1/π_y', () => {
    const p = prior(COUNTS);
    const l = Z.map((z, i) => ce(z, Y[i]));
    const expected = (l[0] / p[0] + l[1] / p[2]) / (1 / p[0] + 1 / p[2]);
    assertClose(evalLoss('weighted-softmax', { weighting: 'inverse' }), expected, 1e-6);
  });

  it('rejects an unknown weighting', () => {
    assert.throws(() => createLoss('weighted-softmax', { classCounts: COUNTS, weighting: 'sqrt' }), /weighting/);
  });
});

describe('focal', () => {
  const gammaCases = [2, 3, 0.5];
  for (const gamma of gammaCases) {
    it(`value −(1 − p_y)^γ log p_y, γ = ${gamma}`, () => {
      const expected = mean(Z.map((z, i) => {
        const py = softmaxRow(z)[Y[i]];
        return -Math.pow(1 - py, gamma) * Math.log(py);
      }));
      assertClose(evalLoss('focal', { gamma }), expected, 1e-5);
      assertClose(evalLoss('focal', { gamma, detach: true }), expected, 1e-5);
    });
  }

  it('γ = 0 equals softmax cross-entropy', () => {
    assertClose(evalLoss('focal', { gamma: 0 }), evalLoss('softmax'), 1e-7);
  });

  it('gradient flows through (1 − p)^γ by default', () => {
    const gamma = 2;
    const expected = Z.map((z, i) => {
      const p = softmaxRow(z);
      const py = p[Y[i]];
      const dldpyTimesPy = gamma * Math.pow(1 - py, gamma - 1) * py * Math.log(py) - Math.pow(1 - py, gamma);
      return p.map((pj, j) => (dldpyTimesPy * ((j === Y[i] ? 1 : 0) - pj)) / Z.length);
    });
    assertClose(gradLoss('focal', { gamma }), expected, 1e-5);
  });

  it('gradients stay finite when p_y rounds to 1, for γ < 1 and γ ≥ 1', () => {
    for (const gamma of [0.5, 1, 2]) {
      const g = gradLoss('focal', { gamma }, [[40, 0, 0]], [0]);
      assert.ok(g[0].every((v) => Number.isFinite(v) && Math.abs(v) < 1e-6), `γ = ${gamma}: ${g[0]}`);
    }
  });

  it('detach: true stops the gradient at the factor (survey code)', () => {
    const gamma = 2;
    const expected = Z.map((z, i) => {
      const p = softmaxRow(z);
      const py = p[Y[i]];
      return p.map((pj, j) => (-Math.pow(1 - py, gamma) * ((j === Y[i] ? 1 : 0) - pj)) / Z.length);
    });
    assertClose(gradLoss('focal', { gamma, detach: true }), expected, 1e-5);
  });
});

describe('class-balanced', () => {
  it('weights (1−β)/(1−β^n) normalised to sum C', () => {
    const beta = 0.9999;
    const raw = COUNTS.map((n) => (1 - beta) / (1 - Math.pow(beta, n)));
    const s = raw.reduce((a, b) => a + b, 0);
    const w = classBalancedWeights(COUNTS, beta);
    assertClose(w, raw.map((r) => (r * 3) / s), 1e-12);
    assertClose(w.reduce((a, b) => a + b, 0), 3, 1e-12);
    // β = 0: every effective number is 1, so all weights are 1.
    assertClose(classBalancedWeights(COUNTS, 0), [1, 1, 1], 1e-12);
  });

  it('a hand-checked case: counts [1, 2], β = 0.5 → raw [1, 2/3] → [1.2, 0.8]', () => {
    assertClose(classBalancedWeights([1, 2], 0.5), [1.2, 0.8], 1e-12);
  });

  const w = classBalancedWeights(COUNTS, 0.9999);
  const l = Z.map((z, i) => ce(z, Y[i]));

  it('softmax, weighted mean (default)', () => {
    assertClose(evalLoss('class-balanced'), (w[0] * l[0] + w[2] * l[1]) / (w[0] + w[2]), 1e-6);
  });

  it('softmax, reduction n (official TensorFlow ÷N)', () => {
    assertClose(evalLoss('class-balanced', { reduction: 'n' }), (w[0] * l[0] + w[2] * l[1]) / 2, 1e-6);
  });

  const bce = (z: number, y: number) => Math.log(1 + Math.exp(z)) - z * y;
  const sig = (z: number) => 1 / (1 + Math.exp(-z));

  it('sigmoid: Σ_c BCE per sample, weighted', () => {
    const per = Z.map((z, i) => z.reduce((a, zc, c) => a + bce(zc, c === Y[i] ? 1 : 0), 0));
    assertClose(evalLoss('class-balanced', { lossType: 'sigmoid' }), (w[0] * per[0] + w[2] * per[1]) / (w[0] + w[2]), 1e-5);
    assertClose(evalLoss('class-balanced', { lossType: 'sigmoid', reduction: 'n' }), (w[0] * per[0] + w[2] * per[1]) / 2, 1e-5);
  });

  it('focal: Σ_c (1 − p_t)^γ BCE with sigmoid p_t', () => {
    const gamma = 1;
    const per = Z.map((z, i) =>
      z.reduce((a, zc, c) => {
        const y = c === Y[i] ? 1 : 0;
        const pt = y === 1 ? sig(zc) : 1 - sig(zc);
        return a + Math.pow(1 - pt, gamma) * bce(zc, y);
      }, 0),
    );
    assertClose(evalLoss('class-balanced', { lossType: 'focal' }), (w[0] * per[0] + w[2] * per[1]) / (w[0] + w[2]), 1e-5);
    const per2 = Z.map((z, i) =>
      z.reduce((a, zc, c) => {
        const y = c === Y[i] ? 1 : 0;
        const pt = y === 1 ? sig(zc) : 1 - sig(zc);
        return a + Math.pow(1 - pt, 2) * bce(zc, y);
      }, 0),
    );
    assertClose(
      evalLoss('class-balanced', { lossType: 'focal', gamma: 2, reduction: 'n' }),
      (w[0] * per2[0] + w[2] * per2[1]) / 2,
      1e-5,
    );
  });

  it('β = 0 reduces to plain softmax CE', () => {
    assertClose(evalLoss('class-balanced', { beta: 0 }), evalLoss('softmax'), 1e-6);
  });
});
