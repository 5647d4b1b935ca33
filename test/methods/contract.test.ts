/**
 * The open method contract: parameter groups in the one SGD, scoped parameter names, the open
 * head registry, and the default model a method gets.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { createHead, listHeads, registerHead, type Head } from '../../src/models/classifiers.js';
import { buildMethodModel, LtModel } from '../../src/models/model.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { Sgd } from '../../src/train/sgd.js';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { calibrateOnVal } from '../../src/eval/calibrate.js';
import type { MethodInstance, MethodModel, ModelOutput } from '../../src/methods/types.js';
import { accumulatedStep } from '../../src/train/trainer.js';
import { DynamicLossScaler } from '../../src/train/loss-scaler.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('SGD parameter groups', () => {
  it('a group scales the learning rate and replaces the weight decay of its parameters only', () => {
    const a = tf.variable(tf.tensor1d([1, -2]));
    const b = tf.variable(tf.tensor1d([0.5]));
    const sgd = new Sgd({ momentum: 0, nesterov: false, weightDecay: 0.1, groups: [{ names: (n) => n.startsWith('fc.'), lrFactor: 0.5, weightDecay: 0 }] });
    sgd.step(new Map([['fc.weight', a], ['conv1.weight', b]]), { 'fc.weight': tf.tensor1d([0.2, 0.4]), 'conv1.weight': tf.tensor1d([1]) }, 0.1);
    // fc.weight: lr 0.1·0.5, no decay: 1 − 0.05·0.2 = 0.99, −2 − 0.05·0.4 = −2.02.
    const av = a.dataSync();
    assert.ok(Math.abs(av[0] - 0.99) < 1e-6 && Math.abs(av[1] + 2.02) < 1e-6, `${av}`);
    // conv1.weight: lr 0.1, decay 0.1: 0.5 − 0.1·(1 + 0.05) = 0.395.
    assert.ok(Math.abs(b.dataSync()[0] - 0.395) < 1e-6);
    sgd.dispose();
    a.dispose();
    b.dispose();
  });

  it('without groups the step is unchanged (momentum buffer, decay)', () => {
    const w = tf.variable(tf.tensor1d([1]));
    const sgd = new Sgd({ momentum: 0.9, nesterov: false, weightDecay: 0.1, groups: [] });
    sgd.step(new Map([['w', w]]), { w: tf.tensor1d([0.5]) }, 0.1);
    // g = 0.5 + 0.1 = 0.6; w = 1 − 0.06.
    assert.ok(Math.abs(w.dataSync()[0] - 0.94) < 1e-7);
    sgd.dispose();
    w.dispose();
  });
});

describe('model building blocks', () => {
  it('a scoped store prefixes names and draws from the same seeded generator in order', () => {
    const one = new ParamStore(new Rng(3));
    one.addTrainable('a', [2], one.uniform(2, 1));
    const ea = one.scoped('experts.0');
    ea.addTrainable('fc.weight', [2], ea.uniform(2, 1));
    ea.addBuffer('queue', [3], 0);
    assert.deepEqual([...one.trainable.keys()], ['a', 'experts.0.fc.weight']);
    assert.deepEqual([...one.buffers.keys()], ['experts.0.queue']);
    // Same values as drawing four numbers from one generator.
    const ref = new ParamStore(new Rng(3));
    const all = ref.uniform(4, 1);
    assert.deepEqual(Array.from(one.trainable.get('experts.0.fc.weight')!.dataSync()), Array.from(all.subarray(2)));
    one.dispose();
    ref.dispose();
  });

  it('the head registry is open, and a taken name is refused', () => {
    class DoubleHead implements Head {
      readonly name = 'test-double';
      apply(f: tf.Tensor2D): tf.Tensor2D {
        return tf.mul(tf.sum(f, 1, true), tf.ones([1, 2])) as tf.Tensor2D;
      }
    }
    registerHead('test-double', () => new DoubleHead());
    assert.ok(listHeads().includes('test-double') && listHeads().includes('causal'));
    assert.throws(() => registerHead('linear', () => new DoubleHead()), /already registered/);
    assert.throws(() => createHead('nope', new ParamStore(new Rng(1)), 2, 2), /unknown head 'nope'; known: linear, cosine/);
  });

  it('the default model is the backbone plus the method head, with unchanged parameter names', () => {
    const ctx = { backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0 };
    const m = buildMethodModel({ loss: () => tf.scalar(0) }, ctx);
    const ref = new LtModel({ ...ctx, head: 'linear' });
    assert.ok(m instanceof LtModel);
    assert.deepEqual([...m.store.trainable.keys()], [...ref.store.trainable.keys()]);
    assert.deepEqual(Array.from(m.store.trainable.get('fc.weight')!.dataSync()), Array.from(ref.store.trainable.get('fc.weight')!.dataSync()));
    const out = tf.tidy(() => {
      const x = tf.ones([2, 8, 8, 1]) as tf.Tensor4D;
      const f = m.forwardFeatures(x, false);
      return [m.forwardHead(f, false).logits.arraySync(), m.forward(x, false).logits.arraySync()];
    });
    assert.deepEqual(out[0], out[1]);
    m.dispose();
    ref.dispose();
  });
});

describe('post-hoc steps', () => {
  it('a val step gets val logits with labels; a test step gets only images, and the result is flagged transductive', async () => {
    const count = 6;
    const pixels = Uint8Array.from({ length: count * 8 * 8 }, (_, i) => (i * 37) % 256);
    const labels = Int32Array.from([0, 1, 2, 0, 1, 2]);
    const source = new InMemoryBatchSource({ pixels, labels, count, height: 8, width: 8, channels: 1 }, [0.5], [0.25]);
    const indices = Int32Array.from([0, 1, 2, 3, 4, 5]);
    const model = new LtModel({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0, head: 'linear' });
    const seen: Record<string, unknown> = {};
    const method: MethodInstance = {
      loss: () => tf.scalar(0),
      postHoc: [
        { name: 'val-step', reads: 'val', run: (ctx) => ({ rows: ctx.val!.logits.shape[0], labels: Array.from(ctx.val!.labels), sawTest: ctx.testImages !== undefined }) },
        {
          name: 'test-step',
          reads: 'test-unlabelled',
          async run(ctx) {
            let images = 0;
            for await (const x of ctx.testImages!()) images += x.shape[0];
            seen.val = ctx.val;
            return { images };
          },
        },
      ],
    };
    const before = tf.memory().numTensors;
    const r = await calibrateOnVal(model, method, source, indices.subarray(0, 3), 2, { source, indices });
    assert.deepEqual(r, {
      postHoc: { 'val-step': { reads: 'val', rows: 3, labels: [0, 1, 2], sawTest: false }, 'test-step': { reads: 'test-unlabelled', images: 6 } },
      transductive: true,
    });
    assert.equal(seen.val, undefined, 'a test step never sees val labels either');
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});

describe('batch transforms', () => {
  /** logits = x·W for 1×1×2 images, W a 2×2 trainable matrix. */
  class Linear implements MethodModel {
    readonly store = new ParamStore(new Rng(1));
    readonly w = this.store.addTrainable('fc.weight', [2, 2], Float32Array.from([1, 0, 0, 1]));
    forwardFeatures(x: tf.Tensor4D): tf.Tensor2D {
      return tf.reshape(x, [x.shape[0], 2]) as tf.Tensor2D;
    }
    forwardHead(features: tf.Tensor2D): ModelOutput {
      return { features, logits: tf.matMul(features, this.w as tf.Tensor2D) };
    }
    forward(x: tf.Tensor4D): ModelOutput {
      return this.forwardHead(this.forwardFeatures(x));
    }
    parameterCount(): number {
      return 4;
    }
    dispose(): void {
      this.store.dispose();
    }
  }

  it('mixup through transformBatch: mixed inputs and soft targets reach the loss (hand-computed)', async () => {
    const lambda = 0.75;
    const method: MethodInstance = {
      transformBatch(batch) {
        // Mix each image with the batch reversed: x' = λx + (1−λ)x_rev, t = λ e_y + (1−λ) e_y_rev.
        const rev = (t: tf.Tensor) => tf.reverse(t, 0);
        const x = tf.add(tf.mul(batch.x, lambda), tf.mul(rev(batch.x), 1 - lambda)) as tf.Tensor4D;
        const oneHot = tf.oneHot(batch.y, 2).toFloat();
        const targets = tf.add(tf.mul(oneHot, lambda), tf.mul(rev(oneHot), 1 - lambda)) as tf.Tensor2D;
        return { ...batch, x, targets };
      },
      loss(output, _labels, ctx) {
        const t = ctx.batch!.targets!;
        return tf.neg(tf.mean(tf.sum(tf.mul(t, tf.logSoftmax(output.logits)), 1))) as tf.Scalar;
      },
    };
    const model = new Linear();
    const sgd = new Sgd({ momentum: 0, nesterov: false, weightDecay: 0 });
    const batch = { x: Float32Array.from([1, 0, 0, 1]), y: Int32Array.from([0, 1]), shape: [2, 1, 1, 2] as [number, number, number, number] };
    const r = accumulatedStep(model, method, sgd, model.store.optimisable(), batch, 1, 0.1, { epoch: 0, epochs: 1, rng: new Rng(0) });
    const loss = await r.loss;
    // Mixed logits: row 0 [0.75, 0.25] with target [0.75, 0.25]; row 1 mirrored (same loss).
    const lse = Math.log(Math.exp(0.75) + Math.exp(0.25));
    const expected = -(0.75 * (0.75 - lse) + 0.25 * (0.25 - lse));
    assert.ok(Math.abs(loss - expected) < 1e-6, `${loss} vs ${expected}`);
    // Training accuracy still reads the true labels against the mixed logits: both rows right.
    assert.equal(await r.correct, 2);
    sgd.dispose();
    model.dispose();
  });

  it('fp16 loss scaling: a clean step equals the unscaled update; an inf gradient skips the step and halves the scale (injected)', async () => {
    const ce: MethodInstance = { loss: (output, labels) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), 2), output.logits) as tf.Scalar };
    const batch = { x: Float32Array.from([1, 0, 0, 1]), y: Int32Array.from([1, 0]), shape: [2, 1, 1, 2] as [number, number, number, number] };
    const ctx = { epoch: 0, epochs: 1, rng: new Rng(0) };
    const run = async (method: MethodInstance, scaler?: DynamicLossScaler) => {
      const model = new Linear();
      const sgd = new Sgd({ momentum: 0, nesterov: false, weightDecay: 0 });
      const r = accumulatedStep(model, method, sgd, model.store.optimisable(), batch, 1, 0.5, ctx, undefined, scaler);
      const out = { loss: await r.loss, skipped: r.skipped, w: Array.from(model.w.dataSync()) };
      sgd.dispose();
      model.dispose();
      return out;
    };
    const plain = await run(ce);
    const scaler = new DynamicLossScaler(undefined, { initScale: 1024, growthInterval: 2 });
    const scaled = await run(ce, scaler);
    assert.equal(scaled.skipped, false);
    assert.ok(Math.abs(scaled.loss - plain.loss) < 1e-5, 'the reported loss is unscaled');
    scaled.w.forEach((v, i) => assert.ok(Math.abs(v - plain.w[i]) < 1e-5, `w[${i}] ${v} vs ${plain.w[i]}`));
    assert.deepEqual(scaler.state(), { scale: 1024, goodSteps: 1, skipped: 0 });
    // An overflow: the loss times a huge factor is inf in float32, and so are its gradients.
    const overflow: MethodInstance = { loss: (output, labels) => tf.mul(ce.loss(output, labels, ctx), 3e38) as tf.Scalar };
    const skipped = await run(overflow, scaler);
    assert.equal(skipped.skipped, true);
    assert.deepEqual(skipped.w, [1, 0, 0, 1], 'the weights are untouched');
    assert.deepEqual(scaler.state(), { scale: 512, goodSteps: 0, skipped: 1 });
    await run(ce, scaler);
    await run(ce, scaler);
    assert.deepEqual(scaler.state(), { scale: 1024, goodSteps: 0, skipped: 1 }, 'two clean steps in a row double it again');
  });

  it('a transformBatch that relabels (a pretext task): training accuracy reads the new labels, the ones the loss trains on', async () => {
    const method: MethodInstance = {
      // The images stay, the labels swap: the identity model's argmax [0, 1] is now wrong on both rows.
      transformBatch: (batch) => ({ ...batch, y: tf.sub(1, batch.y) as tf.Tensor1D, streams: [{ views: [batch.x], y: tf.sub(1, batch.y) as tf.Tensor1D }] }),
      loss: (output, labels) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.cast(labels, 'int32'), 2), output.logits) as tf.Scalar,
    };
    const model = new Linear();
    const sgd = new Sgd({ momentum: 0, nesterov: false, weightDecay: 0 });
    const batch = { x: Float32Array.from([1, 0, 0, 1]), y: Int32Array.from([0, 1]), shape: [2, 1, 1, 2] as [number, number, number, number] };
    const r = accumulatedStep(model, method, sgd, model.store.optimisable(), batch, 1, 0.1, { epoch: 0, epochs: 1, rng: new Rng(0) });
    await r.loss;
    assert.equal(await r.correct, 0, 'against the class labels it would be 2');
    sgd.dispose();
    model.dispose();
  });
});
