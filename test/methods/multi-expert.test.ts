/**
 * The contract carries a multi-expert method: a toy method (a test fixture, not registered) builds
 * a shared trunk from the backbone registry and two experts with their own heads, owns a buffer,
 * asks for two input streams (instance with two augmented views, and BBN's reversed sampler),
 * freezes nothing but gives expert 1 a zero learning-rate factor, and trains through the real
 * trainer. Each assertion checks one promise of the contract.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { softmaxLoss } from '../../src/losses/softmax.js';
import type { MethodInstance, ModelBuildContext, ModelOutput } from '../../src/methods/types.js';
import { StoreModel } from '../../src/models/model.js';
import { getBackbone } from '../../src/models/backbones/registry.js';
import type { Backbone } from '../../src/models/backbones/types.js';
import { createHead, type Head } from '../../src/models/classifiers.js';
import { ParamStore } from '../../src/models/params.js';
import { Rng } from '../../src/rng.js';
import { methodStreams } from '../../src/train/streams.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Shared trunk + K experts (each a linear head under `experts.<k>.`), plus a method-owned buffer. */
class TwoExpertModel extends StoreModel {
  readonly store: ParamStore;
  readonly trunk: Backbone;
  readonly experts: Head[];
  readonly seen: tf.Variable;

  constructor(ctx: ModelBuildContext, k: number) {
    super();
    this.store = new ParamStore(new Rng(ctx.seed).fork('init'));
    this.trunk = getBackbone(ctx.backbone).create(this.store, ctx.inChannels);
    this.experts = Array.from({ length: k }, (_, i) => createHead('linear', this.store.scoped(`experts.${i}`), this.trunk.featureDim, ctx.numClasses));
    this.seen = this.store.addBuffer('method.seenPerClass', [ctx.numClasses], 0);
  }

  forwardFeatures(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
    return this.trunk.apply(x, training);
  }

  forwardHead(features: tf.Tensor2D, training: boolean): ModelOutput {
    const experts = this.experts.map((h) => h.apply(features, training));
    // The ensemble is the mean of the expert logits (RIDE / SADE's prediction).
    return { features, experts, logits: tf.div(tf.addN(experts), experts.length) as tf.Tensor2D };
  }
}

function toyMethod(calls: { epochs: number[]; steps: number[]; streamShapes: number[][][]; viewsDiffer: boolean[] }, classCounts: number[]): MethodInstance {
  const ce = softmaxLoss(classCounts);
  return {
    buildModel: (ctx) => new TwoExpertModel(ctx, 2),
    streams: [{ sampler: 'instance', views: 2 }, { sampler: 'reversed' }],
    forward(model, batch) {
      calls.streamShapes.push(batch.streams.map((s) => s.views.map((v) => v.shape[0])));
      calls.viewsDiffer.push(tf.sum(tf.abs(tf.sub(batch.streams[0].views[0], batch.streams[0].views[1]))).dataSync()[0] > 0);
      // Both views of stream 0 and the reversed stream through the shared trunk, in one batch.
      const m = model as TwoExpertModel;
      const x = tf.concat([...batch.streams[0].views, ...batch.streams[1].views], 0) as tf.Tensor4D;
      const out = m.forward(x, true);
      return { ...out, aux: { y: tf.concat([batch.streams[0].y, batch.streams[0].y, batch.streams[1].y]) } };
    },
    loss(output, _labels, ctx) {
      const y = output.aux!.y as tf.Tensor1D;
      // Each expert's own CE on every image of every stream and view.
      return tf.addN(output.experts!.map((z) => ce(z, y, ctx))) as tf.Scalar;
    },
    beforeEpoch: ({ epoch }) => void calls.epochs.push(epoch),
    afterStep({ step, model }) {
      calls.steps.push(step);
      const m = model as TwoExpertModel;
      tf.tidy(() => m.seen.assign(tf.add(m.seen, 1)));
    },
    paramGroups: () => [{ names: (name) => name.startsWith('experts.1.'), lrFactor: 0 }],
  };
}

describe('a multi-expert method on the contract', () => {
  it('builds a shared trunk and two experts, trains one step over two streams, and keeps hooks and groups', async () => {
    const numClasses = 3;
    const counts = [12, 6, 2];
    const count = counts.reduce((a, b) => a + b, 0);
    const rng = new Rng(5);
    const pixels = Uint8Array.from({ length: count * 6 * 6 }, () => rng.int(256));
    const labels = Int32Array.from(counts.flatMap((c, k) => Array(c).fill(k)));
    const source = new InMemoryBatchSource({ pixels, labels, count, height: 6, width: 6, channels: 1 }, [0.5], [0.25], { padCrop: 1, flip: true });
    const indices = Int32Array.from({ length: count }, (_, i) => i);
    const calls = { epochs: [] as number[], steps: [] as number[], streamShapes: [] as number[][][], viewsDiffer: [] as boolean[] };
    const method = toyMethod(calls, counts);
    const model = method.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses, seed: 0 }) as TwoExpertModel;
    try {
      // Parameter names: the trunk's as the backbone names them, then each expert's scoped head, then the buffer.
      const names = [...model.store.trainable.keys()];
      assert.ok(names.includes('conv1.weight') && names.includes('experts.0.fc.weight') && names.includes('experts.1.fc.bias'), names.join(','));
      assert.ok(model.store.buffers.has('method.seenPerClass'));
      const w0 = Array.from(model.store.trainable.get('experts.0.fc.weight')!.dataSync());
      const w1 = Array.from(model.store.trainable.get('experts.1.fc.weight')!.dataSync());
      const trunk0 = Array.from(model.store.trainable.get('conv1.weight')!.dataSync());
      const before = tf.memory().numTensors;
      await train(
        {
          model,
          method,
          train: { source, indices },
          val: { source, indices },
          numClasses,
          groups: ['head', 'middle', 'tail'],
          checkpointDir: tempDir(),
          reporter: {},
          ...methodStreams(method, indices, labels, numClasses, 1, 'dataset', 0),
        },
        { epochs: 1, batchSize: count, seed: 0, lr: 0.1, schedule: { name: 'constant', warmupEpochs: 0, milestones: [], gamma: 0.1, minLr: 0 }, sgd: { momentum: 0.9, nesterov: false, weightDecay: 0 }, evalBatchSize: 64 },
      );
      // One epoch of one step: the hooks ran once each.
      assert.deepEqual(calls.epochs, [0]);
      assert.deepEqual(calls.steps, [0]);
      // Two streams: stream 0 with two views, stream 1 (reversed) with one, each a full batch.
      assert.deepEqual(calls.streamShapes, [[[count, count], [count]]]);
      // The second view is augmented from its own seeded stream.
      assert.deepEqual(calls.viewsDiffer, [true]);
      // The method-owned buffer was updated by afterStep and is part of the checkpointed state.
      assert.deepEqual(Array.from(model.seen.dataSync()), [1, 1, 1]);
      // Expert 0 and the shared trunk trained; expert 1's group has lr factor 0.
      assert.notDeepEqual(Array.from(model.store.trainable.get('experts.0.fc.weight')!.dataSync()), w0);
      assert.notDeepEqual(Array.from(model.store.trainable.get('conv1.weight')!.dataSync()), trunk0);
      assert.deepEqual(Array.from(model.store.trainable.get('experts.1.fc.weight')!.dataSync()), w1);
      // The ensemble predicts: output logits are the mean of the experts'.
      const [mean, e0, e1] = tf.tidy(() => {
        const out = model.forward(tf.ones([2, 6, 6, 1]) as tf.Tensor4D, false);
        return [out.logits.arraySync(), out.experts![0].arraySync(), out.experts![1].arraySync()] as number[][][];
      });
      mean.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs(v - (e0[i][j] + e1[i][j]) / 2) < 1e-5)));
      // No tensor leaks beyond the momentum buffers of the optimiser (disposed by train).
      assert.ok(tf.memory().numTensors <= before, `tensors ${before} → ${tf.memory().numTensors}`);
    } finally {
      model.dispose();
    }
  });
});
