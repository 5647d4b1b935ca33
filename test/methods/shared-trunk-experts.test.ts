/**
 * Split backbones (a shared trunk + per-expert later stages at reduced width) and the
 * buildSharedTrunkExperts helper that RIDE / SADE build on: hand-computed parameter counts, scoped
 * names, the trunk being the exact prefix of the full model, and one training step of a toy
 * (unregistered) 3-expert method through the real trainer.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InMemoryBatchSource } from '../../src/data/batch-source.js';
import { softmaxLoss } from '../../src/losses/softmax.js';
import type { MethodInstance } from '../../src/methods/types.js';
import { getBackbone } from '../../src/models/backbones/registry.js';
import { LtModel } from '../../src/models/model.js';
import { ParamStore } from '../../src/models/params.js';
import { buildSharedTrunkExperts, type SharedTrunkExperts } from '../../src/models/shared-trunk-experts.js';
import { Rng } from '../../src/rng.js';
import { methodStreams } from '../../src/train/streams.js';
import { train } from '../../src/train/trainer.js';
import { tempDir } from '../foundation/helpers.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Trainable parameters whose name passes `keep`. */
function countWhere(store: ParamStore, keep: (name: string) => boolean): number {
  let n = 0;
  for (const [name, v] of store.trainable) if (keep(name)) n += v.size;
  return n;
}

describe('a CIFAR ResNet-32 split at stage 3 into 3 reduced-width experts', () => {
  it('has the hand-computed parameter counts, scoped names and reduced widths', () => {
    const m = buildSharedTrunkExperts({ backbone: 'resnet32', inChannels: 3, numClasses: 10, seed: 0, splitStage: 3, experts: 3, widthFactor: 0.75 });
    try {
      // Shared: stem conv 3·16·9 = 432, bn 2·16 = 32;
      // stage 1: 5 blocks 16→16, each 2·(16·16·9) + 2·(2·16) = 4672 → 23360;
      // stage 2: 16→32 block 16·32·9 + 32·32·9 + 4·32 = 13952, 4 blocks 32→32 2·9216 + 128 = 18560 → 88192.
      const shared = 432 + 32 + 23360 + 13952 + 4 * 18560;
      assert.equal(shared, 112016);
      // Each expert's stage 3 at round(64·0.75) = 48 channels: 32→48 block 32·48·9 + 48·48·9 + 4·48 = 34752,
      // 4 blocks 48→48 2·20736 + 192 = 41664; linear head 48·10 + 10 = 490.
      const expert = 34752 + 4 * 41664 + 490;
      assert.equal(expert, 201898);
      assert.equal(m.parameterCount(), shared + 3 * expert);
      assert.equal(m.parameterCount(), 717710);
      assert.equal(countWhere(m.store, (n) => !n.startsWith('experts.')), shared);
      for (let i = 0; i < 3; i++) assert.equal(countWhere(m.store, (n) => n.startsWith(`experts.${i}.`)), expert, `expert ${i}`);
      const names = [...m.store.trainable.keys()];
      // Order: trunk, then expert by expert its stage and head.
      assert.equal(names[0], 'conv1.weight');
      assert.equal(names.indexOf('experts.0.layer3.0.conv1.weight'), names.indexOf('layer2.4.bn2.bias') + 1);
      assert.ok(names.indexOf('experts.0.fc.weight') < names.indexOf('experts.1.layer3.0.conv1.weight'));
      assert.ok(!names.some((n) => n.startsWith('layer3.') || /^experts\.\d\.layer[12]\./.test(n)), names.join(','));
      assert.ok(m.store.buffers.has('experts.2.layer3.4.bn2.running_var'));
      assert.deepEqual(m.store.trainable.get('experts.1.layer3.0.conv1.weight')!.shape, [3, 3, 32, 48]);
      assert.deepEqual(m.store.trainable.get('experts.2.fc.weight')!.shape, [48, 10]);
      assert.equal(m.expertDim, 48);
    } finally {
      m.dispose();
    }
  });

  it("builds RIDE's own CIFAR split (experts own stages 2 and 3 at 24 / 48 channels)", () => {
    const m = buildSharedTrunkExperts({ backbone: 'resnet32', inChannels: 3, numClasses: 10, seed: 0, splitStage: 2, experts: 3, widthFactor: 0.75, head: 'cosine', headOptions: { scale: 30 } });
    try {
      assert.deepEqual(m.store.trainable.get('experts.0.layer2.0.conv1.weight')!.shape, [3, 3, 16, 24]);
      assert.deepEqual(m.store.trainable.get('experts.0.layer3.0.conv1.weight')!.shape, [3, 3, 24, 48]);
      assert.equal(m.expertDim, 48);
      const out = tf.tidy(() => {
        const o = m.forward(tf.ones([2, 8, 8, 3]) as tf.Tensor4D, false);
        return { features: o.features.shape, experts: o.experts!.map((e) => e.shape), logits: o.logits.shape };
      });
      assert.deepEqual(out, { features: [2, 144], experts: [[2, 10], [2, 10], [2, 10]], logits: [2, 10] });
    } finally {
      m.dispose();
    }
  });

  it('is the unsplit network when there is one full-width expert: same values, same logits', () => {
    const full = new LtModel({ backbone: 'resnet8', head: 'linear', inChannels: 1, numClasses: 3, seed: 4 });
    const one = buildSharedTrunkExperts({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 4, splitStage: 2, experts: 1 });
    try {
      const fullNames = [...full.store.trainable.keys()];
      const oneNames = [...one.store.trainable.keys()].map((n) => n.replace(/^experts\.0\./, ''));
      assert.deepEqual(oneNames, fullNames);
      for (const [name, v] of full.store.trainable) {
        const w = one.store.trainable.get(name) ?? one.store.trainable.get(`experts.0.${name}`)!;
        assert.deepEqual(Array.from(w.dataSync()), Array.from(v.dataSync()), name);
      }
      const [a, b] = tf.tidy(() => {
        const x = tf.randomUniform([2, 6, 6, 1], 0, 1, 'float32', 1) as tf.Tensor4D;
        return [full.forward(x, false).logits.arraySync(), one.forward(x, false).logits.arraySync()];
      });
      assert.deepEqual(b, a);
    } finally {
      full.dispose();
      one.dispose();
    }
  });

  it('rejects a split stage outside the backbone and an option-A width it cannot pad', () => {
    assert.throws(() => buildSharedTrunkExperts({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0, splitStage: 4, experts: 2 }), /split stage 4 is not one of 1…3/);
    // round(64·0.7) = 45 after 32 channels: an odd difference the zero-padding shortcut cannot split.
    assert.throws(() => buildSharedTrunkExperts({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0, splitStage: 3, experts: 2, widthFactor: 0.7 }), /even, non-negative difference/);
    assert.throws(() => buildSharedTrunkExperts({ backbone: 'resnet8', inChannels: 1, numClasses: 3, seed: 0, splitStage: 3, experts: 0 }), /positive integer/);
  });
});

function toyThreeExperts(counts: number[]): MethodInstance {
  const ce = softmaxLoss(counts);
  return {
    buildModel: (ctx) => buildSharedTrunkExperts({ ...ctx, splitStage: 3, experts: 3, widthFactor: 0.75 }),
    // Each expert's own CE, summed (RIDE's loss shape without its diversity term).
    loss: (output, labels, ctx) => tf.addN(output.experts!.map((z) => ce(z, labels, ctx))) as tf.Scalar,
  };
}

describe('a toy 3-expert method on the shared-trunk helper', () => {
  it('trains one step through the real trainer: every expert and the trunk move; the output is the experts\' mean', async () => {
    const numClasses = 3;
    const counts = [10, 5, 2];
    const count = counts.reduce((a, b) => a + b, 0);
    const rng = new Rng(7);
    const pixels = Uint8Array.from({ length: count * 6 * 6 }, () => rng.int(256));
    const labels = Int32Array.from(counts.flatMap((c, k) => Array(c).fill(k)));
    const source = new InMemoryBatchSource({ pixels, labels, count, height: 6, width: 6, channels: 1 }, [0.5], [0.25], { padCrop: 1, flip: true });
    const indices = Int32Array.from({ length: count }, (_, i) => i);
    const method = toyThreeExperts(counts);
    const model = method.buildModel!({ backbone: 'resnet8', inChannels: 1, numClasses, seed: 0 }) as SharedTrunkExperts;
    try {
      const watched = ['conv1.weight', 'layer2.0.conv1.weight', ...[0, 1, 2].flatMap((i) => [`experts.${i}.layer3.0.conv1.weight`, `experts.${i}.fc.weight`])];
      const before = new Map(watched.map((n) => [n, Array.from(model.store.trainable.get(n)!.dataSync())]));
      // The experts start different (each drew its own values from the seeded generator).
      assert.notDeepEqual(before.get('experts.0.layer3.0.conv1.weight'), before.get('experts.1.layer3.0.conv1.weight'));
      const tensors = tf.memory().numTensors;
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
      for (const n of watched) assert.notDeepEqual(Array.from(model.store.trainable.get(n)!.dataSync()), before.get(n), `${n} did not move`);
      const out = tf.tidy(() => {
        const o = model.forward(tf.ones([2, 6, 6, 1]) as tf.Tensor4D, false);
        return { mean: o.logits.arraySync(), experts: o.experts!.map((e) => e.arraySync()), features: o.features.shape };
      });
      assert.deepEqual(out.features, [2, 3 * 48]);
      out.mean.forEach((row, i) => row.forEach((v, j) => {
        const hand = (out.experts[0][i][j] + out.experts[1][i][j] + out.experts[2][i][j]) / 3;
        assert.ok(Math.abs(v - hand) < 1e-5, `${v} vs ${hand}`);
      }));
      // The experts' logits differ: they are separate networks, not one head repeated.
      assert.notDeepEqual(out.experts[0], out.experts[1]);
      assert.ok(tf.memory().numTensors <= tensors, `tensors ${tensors} → ${tf.memory().numTensors}`);
    } finally {
      model.dispose();
    }
  });
});

describe('a ResNeXt-50 split at stage 3 (RIDE / SADE: experts own layer3 and layer4)', () => {
  it('shares exactly the full model\'s stem, layer1 and layer2, and scales the experts\' stages as hand-computed', () => {
    const full = new ParamStore(new Rng(0).fork('init'));
    getBackbone('resnext50').create(full, 3);
    const m = buildSharedTrunkExperts({ backbone: 'resnext50', inChannels: 3, numClasses: 1000, seed: 0, splitStage: 3, experts: 3, widthFactor: 0.75, head: 'cosine' });
    const split = getBackbone('resnext50').split!;
    const wide = new ParamStore(new Rng(1).fork('init'));
    try {
      const early = (n: string) => /^(conv1|bn1|layer1|layer2)\./.test(n);
      assert.equal(countWhere(m.store, (n) => !n.startsWith('experts.')), countWhere(full, early));
      // Same names and seeded values as the full model's first stages (the trunk is its prefix).
      for (const [name, v] of m.store.trainable) {
        if (name.startsWith('experts.')) continue;
        assert.ok(early(name), name);
        assert.deepEqual(v.shape, full.trainable.get(name)!.shape, name);
      }
      assert.deepEqual(Array.from(m.store.trainable.get('layer2.3.conv3.weight')!.dataSync().slice(0, 50)), Array.from(full.trainable.get('layer2.3.conv3.weight')!.dataSync().slice(0, 50)));
      // Expert layer3 at planes 192: bottleneck width ⌊192·4/64⌋·32 = 384, out 768.
      // block 0 (512 in): 512·384 + 2·384 + 384·12·9 + 2·384 + 384·768 + 2·768 + 512·768 + 2·768 = 930816;
      // blocks 1–5 (768 in): 768·384 + 768 + 41472 + 768 + 384·768 + 1536 = 634368 each.
      const layer3 = 930816 + 5 * 634368;
      // Expert layer4 at planes 384: width 768, out 1536.
      // block 0 (768 in): 768·768 + 1536 + 768·24·9 + 1536 + 768·1536 + 3072 + 768·1536 + 3072 = 3124224;
      // blocks 1–2 (1536 in): 1536·768 + 1536 + 165888 + 1536 + 768·1536 + 3072 = 2531328 each.
      const layer4 = 3124224 + 2 * 2531328;
      // Cosine head: a 1536×1000 weight, no bias.
      const head = 1536 * 1000;
      for (let i = 0; i < 3; i++) {
        assert.equal(countWhere(m.store, (n) => n.startsWith(`experts.${i}.layer3.`)), layer3, `expert ${i} layer3`);
        assert.equal(countWhere(m.store, (n) => n.startsWith(`experts.${i}.layer4.`)), layer4, `expert ${i} layer4`);
        assert.equal(countWhere(m.store, (n) => n.startsWith(`experts.${i}.`)), layer3 + layer4 + head, `expert ${i}`);
      }
      assert.equal(m.expertDim, 1536);
      // At width factor 1 a branch has exactly the full model's layer3 + layer4.
      const branch = split.createBranch(wide, 3, 1);
      assert.equal(branch.featureDim, 2048);
      assert.equal(wide.parameterCount(), countWhere(full, (n) => /^layer[34]\./.test(n)));
      assert.deepEqual([...wide.trainable.keys()], [...full.trainable.keys()].filter((n) => /^layer[34]\./.test(n)));
    } finally {
      full.dispose();
      m.dispose();
      wide.dispose();
    }
  });
});
