/**
 * ESQL: the tail threshold rule, the masking against a replayed random stream, determinism.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createLoss } from '../../src/losses/index.js';
import { esqlThreshold } from '../../src/losses/esql.js';
import { Rng } from '../../src/rng.js';
import { assertClose, ce, mean } from './reference.js';

// 10 classes, like Fashion-MNIST-LT at ratio 100 (an exponential profile 5000 → 50).
const COUNTS10 = Array.from({ length: 10 }, (_, k) => Math.floor(5000 * Math.pow(0.01, k / 9)));
const Z = [
  [1.5, 0.2, -0.4, 0.9, 0.0, 0.3, -1.0, 0.7, 0.1, 0.5],
  [-0.3, 0.8, 0.6, -0.2, 1.1, 0.0, 0.4, -0.6, 0.9, 0.2],
  [0.1, -0.5, 0.3, 0.2, -0.1, 1.2, 0.8, 0.6, -0.4, 1.0],
];
const Y = [0, 9, 6];

function evalEsql(params: Record<string, unknown>, rng?: Rng): number {
  const loss = createLoss('esql', { classCounts: COUNTS10, ...params });
  return tf.tidy(() => loss(tf.tensor2d(Z), tf.tensor1d(Y, 'int32'), { epoch: 0, epochs: 1, rng }).dataSync()[0]);
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('esql threshold λ', () => {
  it('off ImageNet-LT marks the round(0.374·C) rarest classes as tail', () => {
    const t = esqlThreshold(COUNTS10);
    assert.equal(t.rule, 'tail-share');
    assert.deepEqual(t.tailClasses, [6, 7, 8, 9]);
    const total = COUNTS10.reduce((a, b) => a + b, 0);
    assertClose(t.lambda, COUNTS10[6] / total, 1e-12);
  });

  it('keeps λ = 0.00043 for ImageNet-LT-shaped counts (1000 classes, 115,846 images)', () => {
    // 374 classes of 40 images and 626 of the rest: 374·40 + 626·161 + 100 = 115,846.
    const counts = [...Array(374).fill(40), ...Array(625).fill(161), 261];
    assert.equal(counts.reduce((a, b) => a + b, 0), 115846);
    const t = esqlThreshold(counts);
    assert.equal(t.rule, 'imagenet-lt');
    assert.equal(t.lambda, 0.00043);
    assert.equal(t.tailClasses.length, 374);
  });

  it('an explicit λ wins', () => {
    const t = esqlThreshold(COUNTS10, 0.05);
    assert.equal(t.rule, 'explicit');
    const total = COUNTS10.reduce((a, b) => a + b, 0);
    assert.deepEqual(t.tailClasses, COUNTS10.map((n, k) => (n / total <= 0.05 ? k : -1)).filter((k) => k >= 0));
  });
});

describe('esql loss', () => {
  const tail = new Set([6, 7, 8, 9]);

  it('matches a replay of the same random stream (keep when u > γ)', () => {
    const gamma = 0.5;
    const replay = new Rng(1234);
    const expected = mean(
      Z.map((z, i) => {
        const masked = z.map((v, j) => {
          const u = replay.next();
          const drop = tail.has(j) && j !== Y[i] && !(u > gamma);
          return drop ? -1e7 : v;
        });
        return ce(masked, Y[i]);
      }),
    );
    assertClose(evalEsql({ gamma }, new Rng(1234)), expected, 1e-5);
  });

  it('γ = 0 is plain CE; γ = 1 always drops tail negatives', () => {
    const plain = mean(Z.map((z, i) => ce(z, Y[i])));
    assertClose(evalEsql({ gamma: 0 }, new Rng(5)), plain, 1e-6);
    const dropped = mean(Z.map((z, i) => ce(z.map((v, j) => (tail.has(j) && j !== Y[i] ? -1e7 : v)), Y[i])));
    assertClose(evalEsql({ gamma: 1 }, new Rng(5)), dropped, 1e-6);
  });

  it('is deterministic under a seed and differs across seeds', () => {
    const a = evalEsql({}, new Rng(42));
    const b = evalEsql({}, new Rng(42));
    assert.equal(a, b);
    const others = [1, 2, 3, 4, 5, 6].map((s) => evalEsql({}, new Rng(s)));
    assert.ok(others.some((v) => v !== a), 'different seeds should give different masks');
    // Without ctx.rng the loss uses its own Rng(0): two fresh losses agree.
    assert.equal(evalEsql({}), evalEsql({}));
  });

  it('masked logits get no gradient', () => {
    const loss = createLoss('esql', { classCounts: COUNTS10, gamma: 1 });
    const g = tf.tidy(() => {
      const labels = tf.tensor1d(Y, 'int32');
      return tf.grad((x: tf.Tensor) => loss(x as tf.Tensor2D, labels, { epoch: 0, epochs: 1, rng: new Rng(0) }))(
        tf.tensor2d(Z),
      ).arraySync() as number[][];
    });
    for (let i = 0; i < Y.length; i++) {
      for (const j of tail) {
        if (j !== Y[i]) assert.equal(g[i][j], 0, `grad[${i}][${j}]`);
      }
    }
    // The label's own logit (class 9 or 6 is a tail class) still gets a gradient.
    assert.ok(g[1][9] < 0 && g[2][6] < 0);
  });
});
