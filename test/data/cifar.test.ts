import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/rng.js';
import { loadCifar, selectLongTail } from '../../src/data/sources/cifar.js';
import { NumpyLegacyRandom } from '../../src/data/sources/numpy-random.js';
import { exponentialProfile } from '../../src/data/profiles.js';

/** A record whose pixel (y, x) in channel c is (r*7 + c*50 + y + x) mod 256 — distinct per plane. */
function record(labels: number[], r: number): Buffer {
  const px = Buffer.alloc(3072);
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) px[c * 1024 + y * 32 + x] = (r * 7 + c * 50 + y + x) % 256;
  return Buffer.concat([Buffer.from(labels), px]);
}

function tmp(): string {
  return mkdtempSync(path.join(tmpdir(), 'ltb-cifar-'));
}

test('CIFAR-10 binary: 5 train batches + test batch, CHW -> HWC, labels, names, checksums', async (t) => {
  const root = tmp();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'cifar-10-batches-bin');
  mkdirSync(dir);
  let r = 0;
  for (let b = 1; b <= 5; b++) {
    const recs = [0, 1, 2].map(() => record([r % 10], r++));
    writeFileSync(path.join(dir, `data_batch_${b}.bin`), Buffer.concat(recs));
  }
  writeFileSync(path.join(dir, 'test_batch.bin'), Buffer.concat([record([9], 100), record([3], 101)]));
  writeFileSync(path.join(dir, 'batches.meta.txt'), 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n');
  const src = await loadCifar({ root, variant: 'cifar10' });
  assert.equal(src.train.count, 15);
  assert.equal(src.test.count, 2);
  assert.deepEqual(Array.from(src.train.labels), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4]);
  assert.deepEqual(Array.from(src.test.labels), [9, 3]);
  assert.equal(src.numClasses, 10);
  assert.equal(src.classNames?.[9], 'truck');
  // image 4, pixel (y=2, x=5): channels R,G,B = 4*7 + {0,50,100} + 7
  const at = 4 * 3072 + (2 * 32 + 5) * 3;
  assert.deepEqual(Array.from(src.train.pixels.subarray(at, at + 3)), [35, 85, 135]);
  assert.equal(src.files.length, 6);
  assert.match(src.files[0].sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(src.mean, [0.4914, 0.4822, 0.4465]);
  // the binary folder itself works as root too
  assert.equal((await loadCifar({ root: dir, variant: 'cifar10' })).train.count, 15);
});

test('CIFAR-100 binary: coarse + fine label bytes', async (t) => {
  const root = tmp();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'cifar-100-binary');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'train.bin'), Buffer.concat([record([19, 99], 0), record([4, 30], 1), record([0, 7], 2)]));
  writeFileSync(path.join(dir, 'test.bin'), record([1, 55], 3));
  const fine = await loadCifar({ root, variant: 'cifar100' });
  assert.deepEqual(Array.from(fine.train.labels), [99, 30, 7]);
  assert.equal(fine.numClasses, 100);
  assert.equal(fine.train.pixels[3072 + 0], 7); // image 1, pixel (0,0), R = 1*7
  const coarse = await loadCifar({ root, variant: 'cifar100', labels: 'coarse' });
  assert.deepEqual(Array.from(coarse.train.labels), [19, 4, 0]);
  assert.equal(coarse.numClasses, 20);
});

test('CIFAR errors name the file: missing, wrong size, label out of range, pickle version', async (t) => {
  const root = tmp();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await assert.rejects(loadCifar({ root, variant: 'cifar10' }), /missing file .*cifar-10-batches-bin\/data_batch_1\.bin.*cifar-10-binary\.tar\.gz/);
  mkdirSync(path.join(root, 'cifar-100-python'));
  await assert.rejects(loadCifar({ root, variant: 'cifar100' }), /Python pickle version/);
  const dir = path.join(root, 'cifar-100-binary');
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'train.bin'), Buffer.alloc(3074 * 2 + 5));
  await assert.rejects(loadCifar({ root, variant: 'cifar100' }), /train\.bin: 6153 bytes is not a whole number of 3074-byte records/);
  writeFileSync(path.join(dir, 'train.bin'), record([0, 100], 0));
  await assert.rejects(loadCifar({ root, variant: 'cifar100' }), /train\.bin: record 0 has label 100/);
  writeFileSync(path.join(dir, 'train.bin'), record([0, 1], 0));
  await assert.rejects(loadCifar({ root, variant: 'cifar100' }), /missing or unreadable file .*test\.bin/);
});

test('NumPy legacy MT19937 shuffle matches numpy (np.random.seed(0); np.random.shuffle)', () => {
  const g = new NumpyLegacyRandom(0);
  // values printed by numpy 1.24 and 2.4
  assert.deepEqual(Array.from(g.shuffle(Int32Array.from({ length: 10 }, (_, i) => i))), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
  assert.deepEqual(Array.from(g.shuffle(Int32Array.from({ length: 7 }, (_, i) => i))), [3, 1, 2, 6, 5, 0, 4]);
  const big = g.shuffle(Int32Array.from({ length: 5000 }, (_, i) => i));
  assert.deepEqual(Array.from(big.subarray(0, 8)), [4380, 2058, 2921, 3239, 1172, 1850, 464, 138]);
  assert.deepEqual(Array.from(big.subarray(4997)), [2222, 2135, 2599]);
  const h = new NumpyLegacyRandom(0);
  // np.random.RandomState(0).randint(0, 2**32, size=3, dtype=np.uint64) -> raw 32-bit draws
  assert.deepEqual([h.nextUint32(), h.nextUint32(), h.nextUint32()], [2357136044, 2546248239, 3071714933]);
});

test('LDAM-DRW selection replayed exactly (numpy seed 0), and seeded with Rng', () => {
  const labels = Int32Array.from({ length: 100 }, (_, i) => i % 10);
  const counts = exponentialProfile(10, 10, 10);
  assert.deepEqual(counts, [10, 7, 5, 4, 3, 2, 2, 1, 1, 1]);
  // computed with numpy: the official gen_imbalanced_data on targets i % 10
  assert.deepEqual(
    Array.from(selectLongTail(labels, counts, { numpySeed: 0 })),
    [20, 80, 40, 90, 10, 60, 70, 30, 0, 50, 31, 51, 11, 21, 91, 81, 1, 22, 32, 82, 42, 52, 63, 13, 93, 23, 54, 24, 74, 15, 85, 36, 26, 7, 78, 19],
  );
  const sel = selectLongTail(labels, counts, { rng: new Rng(3) });
  assert.equal(sel.length, 36);
  assert.equal(new Set(sel).size, 36);
  const per = new Array(10).fill(0);
  for (const i of sel) per[labels[i]]++;
  assert.deepEqual(per, counts);
  assert.throws(() => selectLongTail(labels, [11, 0, 0, 0, 0, 0, 0, 0, 0, 0], { rng: new Rng(1) }), /class 0 has 10 images, profile asks 11/);
});
