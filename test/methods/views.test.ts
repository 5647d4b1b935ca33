/**
 * View presets on the method contract: a toy method (a test fixture, not registered) asks for two
 * views of one stream, [basic, mocov2], and trains one step through the real trainer over an
 * in-memory synthetic source. Also: a count of views and a list of basic specs are the same inputs,
 * and a bad spec is one clear error.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { softmaxLoss } from '../../src/losses/softmax.js';
import type { MethodInstance, ViewSpec } from '../../src/methods/types.js';
import { LtModel } from '../../src/models/model.js';
import { Rng } from '../../src/rng.js';
import { methodStreams } from '../../src/train/streams.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

function toyMethod(seen: Array<{ shapes: number[][]; views: Float32Array[] }>, classCounts: number[], views: ViewSpec[]): MethodInstance {
  const ce = softmaxLoss(classCounts);
  return {
    buildModel: (ctx) => new LtModel({ backbone: ctx.backbone, head: 'linear', inChannels: ctx.inChannels, numClasses: ctx.numClasses, seed: ctx.seed }),
    streams: [{ views }],
    forward(model, batch) {
      const s = batch.streams[0];
      seen.push({ shapes: s.views.map((v) => v.shape), views: s.views.map((v) => v.dataSync() as Float32Array) });
      const out = (model as LtModel).forward(tf.concat(s.views, 0) as tf.Tensor4D, true);
      return { ...out, aux: { y: tf.concat([s.y, s.y]) } };
    },
    loss: (output, _labels, ctx) => ce(output.logits, output.aux!.y as tf.Tensor1D, ctx),
  };
}

describe('view presets on the contract', () => {
  it('trains one step with views [basic, mocov2]: view 0 is the basic batch, view 1 the MoCo v2 one', async () => {
    const numClasses = 2;
    const counts = [6, 4];
    const count = 10;
    const rng = new Rng(8);
    const images = { pixels: Uint8Array.from({ length: count * 8 * 8 * 3 }, () => rng.int(256)), labels: Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 1]), count, height: 8, width: 8, channels: 3 };
    const source = new InMemoryBatchSource(images, [0.5, 0.5, 0.5], [0.25, 0.25, 0.25], { padCrop: 1, flip: true });
    const indices = Int32Array.from({ length: count }, (_, i) => i);
    const seen: Array<{ shapes: number[][]; views: Float32Array[] }> = [];
    const method = toyMethod(seen, counts, [{ preset: 'basic' }, { preset: 'mocov2' }]);
    const streams = methodStreams(method, indices, images.labels, numClasses, 1, 'dataset', 3);
    assert.deepEqual(streams.views, [2]);
    assert.deepEqual(streams.presets, [['basic', 'mocov2']]);
    const model = method.buildModel!({ backbone: 'resnet8', inChannels: 3, numClasses, seed: 0 }) as LtModel;
    try {
      const w = Array.from(model.store.trainable.get('fc.weight')!.dataSync());
      const before = tf.memory().numTensors;
      await train(
        { model, method, train: { source, indices }, val: { source, indices }, numClasses, groups: ['head', 'tail'], checkpointDir: tempDir(), reporter: {}, ...streams },
        { epochs: 1, batchSize: count, seed: 3, lr: 0.1, schedule: { name: 'constant', warmupEpochs: 0, milestones: [], gamma: 0.1, minLr: 0 }, sgd: { momentum: 0.9, nesterov: false, weightDecay: 0 }, evalBatchSize: 64 },
      );
      assert.equal(seen.length, 1);
      assert.deepEqual(seen[0].shapes, [
        [count, 8, 8, 3],
        [count, 8, 8, 3],
      ]);
      // Rebuild what each view should be from the trainer's seeds: view 0 is the run's basic batch
      // (seed 3), view 1 the MoCo v2 batch of the view's own seed over the same order.
      const order = new Rng(3).fork('sampler:0').shuffle(Int32Array.from(indices));
      const it = (opts: Parameters<typeof source.epoch>[2]) => source.epoch(order, count, opts)[Symbol.asyncIterator]();
      const basic = (await it({ mode: 'train', seed: 3, epoch: 0 }).next()).value!;
      const viewSeed = new Rng(3).fork('stream:0:view:1').nextUint32();
      const moco = (await it({ mode: 'train', seed: viewSeed, epoch: 0, preset: 'mocov2' }).next()).value!;
      assert.deepEqual(seen[0].views[0], basic.x);
      assert.deepEqual(seen[0].views[1], moco.x);
      assert.notDeepEqual(seen[0].views[0], seen[0].views[1]);
      assert.notDeepEqual(Array.from(model.store.trainable.get('fc.weight')!.dataSync()), w);
      assert.ok(tf.memory().numTensors <= before, `tensors ${before} → ${tf.memory().numTensors}`);
    } finally {
      model.dispose();
    }
  });

  it('a count of views and a list of basic specs give the same trainer inputs; a bad preset is one clear error', () => {
    const labels = Int32Array.from([0, 1, 0, 1]);
    const indices = Int32Array.from([0, 1, 2, 3]);
    const asCount = methodStreams({ streams: [{ views: 2 }] } as MethodInstance, indices, labels, 2, 1, 'dataset', 0);
    const asSpecs = methodStreams({ streams: [{ views: [{ preset: 'basic' }, { preset: 'basic' }] }] } as MethodInstance, indices, labels, 2, 1, 'dataset', 0);
    assert.deepEqual(Object.keys(asSpecs).sort(), ['extraStreams', 'views']);
    assert.deepEqual(asSpecs.views, asCount.views);
    // A single mocov2 view still reaches the trainer (stream 0 view 0 uses the preset).
    assert.deepEqual(methodStreams({ streams: [{ views: [{ preset: 'mocov2' }] }] } as MethodInstance, indices, labels, 2, 1, 'dataset', 0), { presets: [['mocov2']] });
    assert.throws(
      () => methodStreams({ streams: [{ views: [{ preset: 'simclr' }] }] } as unknown as MethodInstance, indices, labels, 2, 1, 'dataset', 0),
      /^Error: method stream 0: views\[0\]\.preset must be 'basic' or 'mocov2', got "simclr"$/,
    );
    assert.throws(() => methodStreams({ streams: [{ views: 0 }] } as MethodInstance, indices, labels, 2, 1, 'dataset', 0), /views must be an integer >= 1, got 0/);
  });
});
