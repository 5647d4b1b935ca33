/**
 * De-confound-TDE: α chosen on the val split (`alpha: val`) from the affine TDE logits, and the
 * causal head's test-time options.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { getMethod } from '../../src/methods/registry.js';
import { CausalHead } from '../../src/models/heads/causal.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('de-confound alpha: val', () => {
  it('picks the smallest grid α with the best mean per-class val accuracy and fixes it on the head', async () => {
    // Two classes, labels [0, 0, 1, 1]. z(α) = z0 + α·(z1 − z0); the margin m = z_1 − z_0 per sample:
    //   samples 0, 1: m = −1 at every α (always class 0, correct)
    //   sample 2: m = −0.5 + α      → class 1 from α > 0.5
    //   sample 3: m = −1 + 0.8·α    → class 1 from α > 1.25
    // α = 0: class accuracies 100, 0 → 50;  α = 1: 100, 50 → 75;  α = 2 and 3: 100, 100 → 100.
    const z0 = [[0, -1], [0, -1], [0, -0.5], [0, -1]];
    const z1 = [[0, -1], [0, -1], [0, 0.5], [0, -0.2]];
    const instance = getMethod('de-confound').create({ classCounts: [10, 1], numClasses: 2, params: { alpha: 'val', alphaGrid: [3, 0, 2, 1] }, epochs: 1 });
    assert.equal(instance.headOptions!.alpha, 0, 'α = 0 until calibration');
    const asked: unknown[] = [];
    let set: Record<string, unknown> | undefined;
    const ctx = {
      valLogitsWith: async (o: Record<string, unknown>) => {
        asked.push(o.alpha);
        return tf.tensor2d(o.alpha === 0 ? z0 : z1);
      },
      setHeadOptions: (o: Record<string, unknown>) => { set = o; },
    };
    const before = tf.memory().numTensors;
    const placeholder = tf.zeros([4, 2]) as tf.Tensor2D;
    const out = await instance.calibrate!(placeholder, Int32Array.from([0, 0, 1, 1]), ctx);
    placeholder.dispose();
    assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
    assert.deepEqual(asked, [0, 1], 'two val passes cover the grid');
    assert.equal(out.alpha, 2);
    assert.deepEqual(out.alphaGrid, [0, 1, 2, 3]);
    assert.deepEqual((out.accuracyByAlpha as number[]).map((a) => Math.round(a * 1000) / 1000), [0.5, 0.75, 1, 1]);
    assert.deepEqual(set, { alpha: 2 });
  });

  it('a numeric α keeps the survey behaviour (no calibration)', () => {
    const instance = getMethod('de-confound').create({ classCounts: [10, 1], numClasses: 2, params: {}, epochs: 1 });
    assert.equal(instance.headOptions!.alpha, 3);
    assert.equal(instance.calibrate, undefined);
  });
});

describe('causal head configure', () => {
  it('changes α at test, returns the previous value, and α = 0 equals useEffect false', () => {
    const store = new ParamStore(new Rng(3));
    const head = new CausalHead(store, 4, 3, { alpha: 1.5 });
    tf.tidy(() => head.embedMean.assign(tf.tensor1d([1, 0.5, 0.2, 0.1])));
    const x = tf.tensor2d([[0.3, 1, 0.2, 0.7], [1, 0.1, 0.4, 0.2]]);
    const withEffect = head.apply(x, false).arraySync();
    assert.deepEqual(head.configure({ alpha: 0 }), { alpha: 1.5 });
    const alpha0 = head.apply(x, false).arraySync();
    head.configure({ alpha: 1.5, useEffect: false });
    const plain = head.apply(x, false).arraySync();
    assert.deepEqual(alpha0, plain);
    assert.notDeepEqual(withEffect, plain);
    x.dispose();
    store.dispose();
  });
});
