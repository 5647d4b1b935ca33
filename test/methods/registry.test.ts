/**
 * The method registry and every method's contract: names, families, strict params, hooks.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { getMethod, listMethods, methodNames } from '../../src/methods/registry.js';
import type { MethodSetup } from '../../src/methods/types.js';
import { Rng } from '../../src/rng.js';

const COUNTS = [500, 120, 30, 8];

function setup(params: Record<string, unknown> = {}, epochs = 200): MethodSetup {
  return { classCounts: COUNTS, numClasses: COUNTS.length, params, epochs };
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('registry', () => {
  it('registers the ten recipe names', () => {
    assert.deepEqual(methodNames(), [
      'softmax',
      'weighted-softmax',
      'focal',
      'class-balanced',
      'ldam-drw',
      'esql',
      'balanced-softmax',
      'lade',
      'logit-adjustment',
      'uno-ic',
    ]);
    assert.equal(listMethods().length, 10);
  });

  it('getMethod throws listing the known names', () => {
    assert.throws(() => getMethod('ldam'), /Unknown method "ldam". Known methods: softmax, weighted-softmax, .*uno-ic/);
    assert.equal(getMethod('lade').name, 'lade');
  });

  it('declares survey family and tag, and cites paper and code', () => {
    const expected: Record<string, [string, string]> = {
      softmax: ['baseline', 'Baseline'],
      'weighted-softmax': ['CR', 'CSL'],
      focal: ['CR', 'CSL'],
      'class-balanced': ['CR', 'CSL'],
      'ldam-drw': ['CR', 'CSL'],
      esql: ['CR', 'CSL'],
      'balanced-softmax': ['CR', 'CSL'],
      lade: ['CR', 'CSL'],
      'logit-adjustment': ['CR', 'LA'],
      'uno-ic': ['CR', 'LA'],
    };
    for (const m of listMethods()) {
      assert.deepEqual([m.family, m.tag], expected[m.name], m.name);
      assert.ok(m.citation.paper.length > 10 && m.citation.code.length > 5, m.name);
      assert.ok(m.summary.length > 10, m.name);
    }
  });

  it('every params schema is strict and fills defaults', () => {
    for (const m of listMethods()) {
      assert.throws(() => m.params.parse({ notAParam: 1 }), /Unrecognized key/, m.name);
      assert.throws(() => m.create(setup({ notAParam: 1 })), /method\.params.*notAParam/, m.name);
      assert.doesNotThrow(() => m.params.parse({}), m.name);
    }
    assert.deepEqual(getMethod('logit-adjustment').params.parse({}), { tau: 1, mode: 'loss' });
    assert.deepEqual(getMethod('uno-ic').params.parse({}).betaGrid, [
      0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2,
    ]);
  });

  it('create rejects a classCounts / numClasses mismatch', () => {
    assert.throws(
      () => getMethod('softmax').create({ classCounts: [1, 2], numClasses: 3, params: {}, epochs: 1 }),
      /numClasses/,
    );
  });

  it('every method trains: its loss is a finite scalar with a gradient on the logits', () => {
    for (const m of listMethods()) {
      const inst = m.create(setup());
      const g = tf.tidy(() => {
        const labels = tf.tensor1d([0, 3, 1], 'int32');
        const features = tf.zeros([3, 2]) as tf.Tensor2D;
        const { value, grad } = tf.valueAndGrad((logits: tf.Tensor) =>
          inst.loss({ logits: logits as tf.Tensor2D, features }, labels, { epoch: 0, epochs: 200, rng: new Rng(1) }),
        )(tf.tensor2d([[0.3, 0.1, -0.2, 0.05], [0.2, -0.1, 0.4, 0.3], [0.0, 0.5, 0.1, -0.3]]));
        return { value: value.dataSync()[0], gradAbs: tf.sum(tf.abs(grad)).dataSync()[0] };
      });
      assert.ok(Number.isFinite(g.value) && g.value > 0, `${m.name} loss ${g.value}`);
      assert.ok(g.gradAbs > 0, `${m.name} gradient`);
    }
  });
});

describe('method hooks', () => {
  it('ldam-drw asks for the cosine head by default and the linear head for variant survey', () => {
    const m = getMethod('ldam-drw');
    const a = m.create(setup());
    assert.equal(a.head, 'cosine');
    assert.equal(a.resolvedParams?.drwStartEpoch, 160);
    assert.equal(m.create(setup({ variant: 'survey' })).head, 'linear');
    assert.equal(m.create(setup({ drw: false })).resolvedParams?.drwStartEpoch, null);
    assert.equal(m.create(setup({}, 30)).resolvedParams?.drwStartEpoch, 24);
  });

  it('the ldam-drw loss hook passes the epoch through (DRW on from epoch 160)', () => {
    const inst = getMethod('ldam-drw').create(setup());
    const at = (epoch: number) =>
      tf.tidy(() =>
        inst.loss(
          { logits: tf.tensor2d([[0.5, 0.1, 0.0, -0.2], [0.1, 0.2, 0.3, 0.1]]), features: tf.zeros([2, 1]) as tf.Tensor2D },
          tf.tensor1d([0, 3], 'int32'),
          { epoch, epochs: 200 },
        ).dataSync()[0],
      );
    assert.equal(at(0), at(159));
    assert.notEqual(at(159), at(160));
    assert.equal(at(160), at(199));
  });

  it('esql records its λ rule and tail classes', () => {
    const r = getMethod('esql').create(setup()).resolvedParams;
    // round(0.374 · 4) = 1 tail class: the rarest.
    assert.deepEqual(r?.tailClasses, [3]);
    assert.equal(r?.lambdaRule, 'tail-share');
    assert.equal(getMethod('esql').create(setup({ lambda: 0.05 })).resolvedParams?.lambdaRule, 'explicit');
  });

  it('the training-only methods predict with the raw logits', () => {
    for (const name of ['softmax', 'weighted-softmax', 'focal', 'class-balanced', 'ldam-drw', 'esql', 'balanced-softmax', 'lade']) {
      const inst = getMethod(name).create(setup());
      assert.equal(inst.predict, undefined, name);
      assert.equal(inst.calibrate, undefined, name);
      assert.equal(inst.sampler, undefined, name);
    }
    assert.equal(getMethod('logit-adjustment').create(setup()).predict, undefined);
  });

  it('logit-adjustment posthoc trains with CE and predicts z − τ log π', () => {
    const inst = getMethod('logit-adjustment').create(setup({ mode: 'posthoc', tau: 0.5 }));
    const total = COUNTS.reduce((a, b) => a + b, 0);
    const z = [[1, 0.5, 0.2, 0]];
    const got = tf.tidy(() => inst.predict!({ logits: tf.tensor2d(z), features: tf.zeros([1, 1]) as tf.Tensor2D }).arraySync());
    const expected = z[0].map((v, j) => v - 0.5 * Math.log(COUNTS[j] / total));
    got[0].forEach((v, j) => assert.ok(Math.abs(v - expected[j]) < 1e-5));
    // Its training loss is plain softmax CE: log(4) at zero logits.
    const l = tf.tidy(() =>
      inst.loss({ logits: tf.zeros([1, 4]) as tf.Tensor2D, features: tf.zeros([1, 1]) as tf.Tensor2D }, tf.tensor1d([2], 'int32'), {
        epoch: 0,
        epochs: 1,
      }).dataSync()[0],
    );
    assert.ok(Math.abs(l - Math.log(4)) < 1e-6);
  });
});
