/** A CIFAR-10-LT recipe end to end on small files in the real binary format. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runRecipe } from '../../src/lifecycle/index.js';
import { validateRecipe } from '../../src/recipe/load.js';
import { Rng } from '../../src/rng.js';
import { tempDir, testBackend } from './helpers.js';

/** `perClass` records of each of the 10 classes per batch file: 1 label byte + 3072 CHW pixels. */
function writeCifar10(root: string, perClassPerBatch: number, testPerClass: number): void {
  const dir = path.join(root, 'cifar-10-batches-bin');
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(5);
  const records = (perClass: number) => {
    const out: Buffer[] = [];
    for (let i = 0; i < perClass * 10; i++) {
      const r = Buffer.alloc(3073);
      r[0] = i % 10;
      for (let p = 1; p < 3073; p++) r[p] = (r[0] * 25 + rng.int(40)) & 0xff;
      out.push(r);
    }
    return Buffer.concat(out);
  };
  for (let b = 1; b <= 5; b++) writeFileSync(path.join(dir, `data_batch_${b}.bin`), records(perClassPerBatch));
  writeFileSync(path.join(dir, 'test_batch.bin'), records(testPerClass));
}

test('cifar10 with valSource test: the LDAM-DRW profile over the whole pool, validation on the test set', async () => {
  const root = tempDir();
  writeCifar10(root, 2, 2); // 10 train images per class, 2 test images per class
  const recipe = validateRecipe({
    dataset: { name: 'cifar10', root, imbalanceRatio: 10, valPerClass: 0, valSource: 'test', augment: { padCrop: 4, flip: true } },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1, batchSize: 16 },
    eval: { thresholds: { head: 6, tail: 3 } },
    output: tempDir(),
  });
  const r = await runRecipe(recipe, { backend: testBackend });
  const rec = r.record;
  // int(10 · 0.1^(i/9)): 10, 7, 5, 4, 3, 2, 2, 1, 1, 1
  assert.deepEqual(rec.dataset.classCounts, [10, 7, 5, 4, 3, 2, 2, 1, 1, 1]);
  assert.equal(rec.dataset.valSource, 'test');
  assert.deepEqual(rec.dataset.sizes, { train: 36, val: 20, test: 20 });
  assert.equal(rec.dataset.files.length, 6);
  assert.equal(rec.metrics.valLast!.count, 20);
});

test('valSource test with a hold-out is a recipe error; a missing CIFAR folder is a data error', async () => {
  assert.throws(
    () => validateRecipe({ dataset: { name: 'cifar10', valSource: 'test' }, backbone: { name: 'resnet8' }, method: { name: 'softmax' }, train: { epochs: 1 } }),
    /dataset.valPerClass: must be 0 with valSource 'test'/,
  );
  const recipe = validateRecipe({
    dataset: { name: 'cifar100', root: tempDir(), valPerClass: 0, valSource: 'test' },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 1 },
    output: tempDir(),
  });
  await assert.rejects(runRecipe(recipe, { backend: testBackend }), (e: any) => e.exitCode === 3 && /CIFAR-100: missing file/.test(e.message));
});
