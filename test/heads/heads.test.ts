/**
 * The decoupling and De-confound heads against hand-computed values: τ-norm, LWS, NCM (cl2n) and
 * the causal classifier's training logits, moving average and TDE test logits.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createHead } from '../../src/models/classifiers.js';
import { CausalHead } from '../../src/models/heads/causal.js';
import { LwsHead } from '../../src/models/heads/lws.js';
import { NcmHead, cl2nCentroids } from '../../src/models/heads/ncm.js';
import { TauNormHead, tauNormalizedWeight } from '../../src/models/heads/tau-norm.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';

function close(actual: ArrayLike<number>, expected: number[], tol = 1e-5, msg = ''): void {
  assert.equal(actual.length, expected.length, msg);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i] - expected[i]) <= tol, `${msg}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

before(async () => {
  await tf.setBackend('cpu');
});

// Class vectors are columns: w0 = (3, 4) with ‖w0‖ = 5, w1 = (1, 0) with ‖w1‖ = 1.
const W = [
  [3, 1],
  [4, 0],
];

describe('tau-norm head', () => {
  it('rescales each class vector by ‖w_k‖^τ and ignores the bias', () => {
    const store = new ParamStore(new Rng(0));
    const head = createHead('tau-norm', store, 2, 2, { tau: 0 }) as TauNormHead;
    head.weight.assign(tf.tensor2d(W));
    assert.equal(store.trainable.has('fc.bias'), false);
    const x = tf.tensor2d([[1, 1]]);
    const at = (tau: number) => {
      head.tau = tau;
      return head.apply(x).dataSync();
    };
    close(at(0), [7, 1], 1e-5, 'τ=0 keeps W'); // x·w0 = 3 + 4
    close(at(1), [1.4, 1], 1e-5, 'τ=1 is L2 normalisation'); // (0.6 + 0.8), w1 unit already
    close(at(2), [7 / 25, 1], 1e-5, 'τ=2');
    close(at(0.5), [7 / Math.sqrt(5), 1], 1e-5, 'τ=0.5');
    x.dispose();
    store.dispose();
  });

  it('tauNormalizedWeight leaves a zero column at zero', () => {
    const w = tf.tensor2d([
      [0, 2],
      [0, 0],
    ]);
    close(tauNormalizedWeight(w, 1).dataSync(), [0, 1, 0, 0]);
    w.dispose();
  });
});

describe('LWS head', () => {
  it('logits = (x W + b) ⊙ s, and only the scales are new parameters', () => {
    const store = new ParamStore(new Rng(0));
    const head = createHead('lws', store, 2, 2) as LwsHead;
    assert.deepEqual([...store.trainable.keys()], ['fc.weight', 'fc.bias', 'fc.scales']);
    close(head.scales.dataSync(), [1, 1], 0, 'scales start at 1');
    head.weight.assign(tf.tensor2d(W));
    head.bias.assign(tf.tensor1d([0.5, 1]));
    const x = tf.tensor2d([[1, 2]]);
    close(head.apply(x).dataSync(), [11.5, 2], 1e-5, 's = 1'); // 3 + 8 + 0.5, 1 + 0 + 1
    head.scales.assign(tf.tensor1d([2, 3]));
    close(head.apply(x).dataSync(), [23, 6], 1e-5, 's = (2, 3)');
    // d(sum of logits)/ds = x W + b.
    const g = tf.variableGrads(() => tf.sum(head.apply(x)) as tf.Scalar, [head.scales]);
    close(g.grads[head.scales.name].dataSync(), [11.5, 2], 1e-5, 'grad s');
    g.value.dispose();
    Object.values(g.grads).forEach((t) => t.dispose());
    x.dispose();
    store.dispose();
  });
});

describe('NCM head (cl2n)', () => {
  // Train features: class 0 at (2,0), (4,0); class 1 at (0,2), (0,4). μ = (1.5, 1.5).
  // normalize(f − μ): (0.5,−1.5)/√2.5, (2.5,−1.5)/√8.5 → c0 = (0.586860, −0.731590); c1 mirrored.
  const feats = [
    [2, 0],
    [4, 0],
    [0, 2],
    [0, 4],
  ];
  const labels = Int32Array.from([0, 0, 1, 1]);

  it('centroids are class means of the centred, L2-normalised features', () => {
    const f = tf.tensor2d(feats);
    const { mean, centroids } = cl2nCentroids(f, labels, 2);
    close(mean.dataSync(), [1.5, 1.5]);
    // centroids are [d, C]: column k is c_k.
    close(centroids.dataSync(), [0.58686035, -0.73158953, -0.73158953, 0.58686035]);
    [f, mean, centroids].forEach((t) => t.dispose());
  });

  it('logits are −‖normalize(f − μ) − c_k‖²', () => {
    const store = new ParamStore(new Rng(0));
    const head = createHead('ncm', store, 2, 2) as NcmHead;
    assert.equal(store.trainable.size, 0, 'NCM has no trainable parameter');
    const f = tf.tensor2d(feats);
    head.fit(f, labels);
    const q = tf.tensor2d([
      [3, 1],
      [1, 3],
    ]);
    close(head.apply(q).dataSync(), [-0.30344124, -3.6388849, -3.6388849, -0.30344124], 1e-5);
    [f, q].forEach((t) => t.dispose());
    store.dispose();
  });
});

describe('causal (De-confound TDE) head', () => {
  // d = 4 in K = 2 chunks, C = 2, τ = 2 (scale τ/K = 1), γ = 1, α = 3.
  // w0 = (3,4 | 0,0): chunk norms 5, 0 → ŵ0 = (3/6, 4/6 | 0, 0); w1 = (0,0 | 0,1) → ŵ1 = (0,0 | 0, 1/2).
  // x = (3,4 | 0,2) → x̂ = (0.6, 0.8 | 0, 1).
  function make(options: Record<string, unknown> = { numHeads: 2, tau: 2, gamma: 1, alpha: 3, momentum: 0.9 }) {
    const store = new ParamStore(new Rng(0));
    const head = createHead('causal', store, 4, 2, options) as CausalHead;
    head.weight.assign(
      tf.tensor2d([
        [3, 0],
        [4, 0],
        [0, 0],
        [0, 1],
      ]),
    );
    return { store, head };
  }

  it('training logits: (τ/K) Σ_k ⟨x̂_k, w_k/(‖w_k‖+γ)⟩', () => {
    const { store, head } = make();
    const x = tf.tensor2d([[3, 4, 0, 2]]);
    // y0 = 0.6·0.5 + 0.8·(2/3) = 0.833333; y1 = 1·0.5.
    close(head.apply(x, true).dataSync(), [0.3 + 0.8 * (2 / 3), 0.5]);
    store.discardUpdates();
    x.dispose();
    store.dispose();
  });

  it('keeps d ← μ·d + mean_batch(x) over training steps only', () => {
    const { store, head } = make();
    const b1 = tf.tensor2d([
      [3, 4, 0, 2],
      [1, 0, 0, 0],
    ]);
    head.apply(b1, true).dispose();
    store.applyUpdates();
    close(head.embedMean.dataSync(), [2, 2, 0, 1]);
    const b2 = tf.tensor2d([[1, 1, 1, 1]]);
    head.apply(b2, true).dispose();
    store.applyUpdates();
    close(head.embedMean.dataSync(), [2.8, 2.8, 1, 1.9]); // 0.9·(2,2,0,1) + (1,1,1,1)
    head.apply(b2, false).dispose(); // evaluation does not move the average
    store.applyUpdates();
    close(head.embedMean.dataSync(), [2.8, 2.8, 1, 1.9]);
    [b1, b2].forEach((t) => t.dispose());
    store.dispose();
  });

  it('test logits subtract α·cos(x_k, d_k)·d̂_k (TDE)', () => {
    const { store, head } = make();
    head.embedMean.assign(tf.tensor1d([4, 3, 1, 0])); // d̂ = (0.8, 0.6 | 1, 0)
    const x = tf.tensor2d([[3, 4, 0, 2]]);
    // cos_1 = 0.6·0.8 + 0.8·0.6 = 0.96; cos_2 = 0.
    // chunk 1: x̂ − 3·0.96·d̂ = (0.6 − 2.304, 0.8 − 1.728) = (−1.704, −0.928); chunk 2 unchanged (0, 1).
    // y0 = −1.704·0.5 − 0.928·(2/3) = −1.470667; y1 = 1·0.5.
    close(head.apply(x, false).dataSync(), [-1.704 * 0.5 - 0.928 * (2 / 3), 0.5]);
    // Training mode never subtracts.
    close(head.apply(x, true).dataSync(), [0.3 + 0.8 * (2 / 3), 0.5]);
    store.discardUpdates();
    x.dispose();
    store.dispose();
  });

  it('useEffect: false and a zero average give the plain causal-norm logits', () => {
    const { store, head } = make({ numHeads: 2, tau: 2, gamma: 1, alpha: 3, useEffect: false });
    head.embedMean.assign(tf.tensor1d([4, 3, 1, 0]));
    const x = tf.tensor2d([[3, 4, 0, 2]]);
    close(head.apply(x, false).dataSync(), [0.3 + 0.8 * (2 / 3), 0.5]);
    store.dispose();
    const fresh = make();
    close(fresh.head.apply(x, false).dataSync(), [0.3 + 0.8 * (2 / 3), 0.5], 1e-5, 'zero d');
    fresh.store.dispose();
    x.dispose();
  });

  it('defaults are the survey config: K = 2, τ = 16, γ = 1/32, α = 3', () => {
    const store = new ParamStore(new Rng(0));
    const head = createHead('causal', store, 64, 10) as CausalHead;
    assert.deepEqual(head.opts, { numHeads: 2, tau: 16, gamma: 1 / 32, alpha: 3, momentum: 0.9, useEffect: true });
    assert.throws(() => createHead('causal', store, 63, 10, { numHeads: 2 }), /not divisible/);
    store.dispose();
  });

  it('does not leak tensors', () => {
    const { store, head } = make();
    head.embedMean.assign(tf.tensor1d([4, 3, 1, 0]));
    const x = tf.tensor2d([[3, 4, 0, 2]]);
    const before = tf.memory().numTensors;
    head.apply(x, false).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
    store.dispose();
  });
});
