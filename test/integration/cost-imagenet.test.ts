/**
 * MACs of the ImageNet backbones at 224 px against the published figures (torchvision, the
 * survey): ResNet-50 4.09 G, ResNeXt-50 32x4d 4.23 G. Slow (about 25 s each on 2 busy cores,
 * wasm or torch), hence an integration test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend } from '../../src/backend.js';
import { measureCost } from '../../src/eval/cost.js';
import { getMethod } from '../../src/methods/registry.js';
import { LtModel } from '../../src/models/model.js';
import { testBackend } from '../foundation/helpers.js';

for (const [backbone, macs, params] of [
  ['resnext50', 4_230_479_872, 25_028_904],
  ['resnet50', 4_089_184_256, 25_557_032],
] as const) {
  test(`${backbone} at 224×224×3, 1000 classes: ${(macs / 1e9).toFixed(2)} G MACs, ${(params / 1e6).toFixed(1)} M parameters`, async () => {
    await selectBackend(testBackend);
    const method = getMethod('softmax').create({ classCounts: new Array(1000).fill(5), numClasses: 1000, params: {}, epochs: 1 });
    const m = new LtModel({ backbone, head: 'linear', inChannels: 3, numClasses: 1000, seed: 0 });
    try {
      const cost = await measureCost(m, method, [224, 224, 3]);
      assert.equal(cost.macs.test, macs);
      assert.equal(cost.macs.train, macs);
      assert.equal(cost.params.train, params);
      assert.equal(Number((cost.macs.test / 1e9).toFixed(2)), backbone === 'resnext50' ? 4.23 : 4.09);
    } finally {
      m.dispose();
    }
  });
}
