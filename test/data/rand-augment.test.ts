/**
 * RandAugment: torchvision's magnitudes, each operation against pixels computed by hand, the
 * draws' determinism, and the option through recipes, both kinds of source, the run record and
 * the table (a row of its own).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { applyOp, opMagnitude, RAND_AUGMENT_OPS, randAugmentImage } from '../../src/data/rand-augment.js';
import { InMemoryBatches } from '../../src/data/batches.js';
import { resolveTransform, transformImage } from '../../src/data/image-pipeline.js';
import { recipeHash } from '../../src/recipe/hash.js';
import { Rng } from '../../src/rng.js';
import { packageRoot } from '../../src/version.js';
import { tempDir, testBackend, tinyRecipe, writeYaml } from '../foundation/helpers.js';

const u8 = (a: number[]) => Uint8Array.from(a);
const close = (a: number, b: number, tol = 1e-9) => Math.abs(a - b) <= tol;

test("magnitudes are torchvision's 31-bin linspaces", () => {
  assert.ok(close(opMagnitude('ShearX', 9, 32, 32), 0.09)); // 0.3 · 9/30
  assert.ok(close(opMagnitude('Rotate', 10, 32, 32), 10)); // 30 · 10/30
  assert.ok(close(opMagnitude('TranslateX', 30, 32, 40), (150 / 331) * 40)); // uses the width
  assert.ok(close(opMagnitude('TranslateY', 30, 32, 40), (150 / 331) * 32)); // uses the height
  assert.ok(close(opMagnitude('Brightness', 15, 8, 8), 0.45));
  assert.equal(opMagnitude('Posterize', 0, 8, 8), 8);
  assert.equal(opMagnitude('Posterize', 10, 8, 8), 7); // 8 − round(10 / 7.5)
  assert.equal(opMagnitude('Posterize', 30, 8, 8), 4);
  assert.equal(opMagnitude('Solarize', 0, 8, 8), 255);
  assert.equal(opMagnitude('Solarize', 30, 8, 8), 0);
  assert.equal(opMagnitude('Equalize', 30, 8, 8), 0);
});

test('geometric operations: translate, shear about the top-left corner, rotate counter-clockwise; black fill', () => {
  // 1×3 grey row [10 20 30] moved right by one pixel.
  assert.deepEqual([...applyOp('TranslateX', 1, u8([10, 20, 30]), 1, 3, 1)], [0, 10, 20]);
  assert.deepEqual([...applyOp('TranslateX', -1.7, u8([10, 20, 30]), 1, 3, 1)], [20, 30, 0]); // truncated to −1
  // 3×1 column moved down by one.
  assert.deepEqual([...applyOp('TranslateY', 1, u8([10, 20, 30]), 3, 1, 1)], [0, 10, 20]);
  // 2×2 [[1 2] [3 4]], shear x by 1: row 0 stays, row 1 reads x + 1.
  assert.deepEqual([...applyOp('ShearX', 1, u8([1, 2, 3, 4]), 2, 2, 1)], [1, 2, 4, 0]);
  assert.deepEqual([...applyOp('ShearY', 1, u8([1, 2, 3, 4]), 2, 2, 1)], [1, 4, 3, 0]);
  // 3×3 rotated 90° counter-clockwise: out(x, y) = in(2 − y, x).
  const img = u8([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual([...applyOp('Rotate', 90, img, 3, 3, 1)], [3, 6, 9, 2, 5, 8, 1, 4, 7]);
  assert.deepEqual([...applyOp('Rotate', 0, img, 3, 3, 1)], [...img]);
  // Channels travel together.
  assert.deepEqual([...applyOp('TranslateX', 1, u8([1, 2, 3, 4, 5, 6]), 1, 2, 3)], [0, 0, 0, 1, 2, 3]);
});

test('colour operations against hand values', () => {
  // Brightness ×1.5, clamped.
  assert.deepEqual([...applyOp('Brightness', 0.5, u8([100, 200]), 1, 2, 1)], [150, 255]);
  // Contrast: blend with the rounded mean luma (mean of 100 and 201 = 150.5 → 151); factor 0.5.
  assert.deepEqual([...applyOp('Contrast', -0.5, u8([100, 201]), 1, 2, 1)], [126, 176]); // 151 + 0.5·(−51) = 125.5 → 126; 151 + 25 = 176
  // Color (saturation) at factor 0: the luma 0.299·200 + 0.587·100 + 0.114·0 = 118.5 → 119 (rounded per channel).
  assert.deepEqual([...applyOp('Color', -1, u8([200, 100, 0]), 1, 1, 3)], [119, 119, 119]);
  // Color leaves a single channel alone.
  assert.deepEqual([...applyOp('Color', -0.9, u8([7, 9]), 1, 2, 1)], [7, 9]);
  // Posterize to 4 bits: 0x37 → 0x30; Solarize at 128: 200 → 55, 100 stays.
  assert.deepEqual([...applyOp('Posterize', 4, u8([0x37, 0xff]), 1, 2, 1)], [0x30, 0xf0]);
  assert.deepEqual([...applyOp('Solarize', 128, u8([200, 100, 128]), 1, 3, 1)], [55, 100, 127]);
  // AutoContrast stretches [50, 150] to [0, 255]: 100 → floor(50 · 2.55) = 127.
  assert.deepEqual([...applyOp('AutoContrast', 0, u8([50, 100, 150]), 1, 3, 1)], [0, 127, 255]);
  assert.deepEqual([...applyOp('AutoContrast', 0, u8([9, 9]), 1, 2, 1)], [9, 9]); // flat: unchanged
  // Equalize: 255 zeros + 255 ones → step (510 − 255) // 255 = 1, lut[1] = (255 + 0) // 1 = 255.
  const half = new Uint8Array(510);
  half.fill(1, 255);
  const eq = applyOp('Equalize', 0, half, 1, 510, 1);
  assert.equal(eq[0], 0);
  assert.equal(eq[509], 255);
  // Too few pixels for a step: unchanged.
  assert.deepEqual([...applyOp('Equalize', 0, u8([0, 1, 2]), 1, 3, 1)], [0, 1, 2]);
  // Sharpness at factor 0 is PIL's SMOOTH filter inside, the border kept: centre (8·1 + 5·10)/13 = 58/13 → 4.46 → 4.
  const sharpImg = u8([1, 1, 1, 1, 10, 1, 1, 1, 1]);
  const smooth = applyOp('Sharpness', -1, sharpImg, 3, 3, 1);
  assert.equal(smooth[4], Math.round((8 + 50) / 13));
  assert.deepEqual([...smooth].filter((_, i) => i !== 4), [1, 1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual([...applyOp('Sharpness', 0, sharpImg, 3, 3, 1)], [...sharpImg]); // factor 1: identity
});

test('randAugmentImage draws an op then a sign per operation from the rng, deterministically', () => {
  const px = Uint8Array.from({ length: 8 * 8 * 3 }, (_, i) => (i * 37) % 256);
  const a = randAugmentImage(px, 8, 8, 3, { n: 2, m: 9 }, new Rng(5));
  const b = randAugmentImage(px, 8, 8, 3, { n: 2, m: 9 }, new Rng(5));
  assert.deepEqual(a, b);
  // The same draws by hand.
  const rng = new Rng(5);
  let expected: Uint8Array = px;
  for (let i = 0; i < 2; i++) {
    const op = RAND_AUGMENT_OPS[rng.int(RAND_AUGMENT_OPS.length)];
    let v = opMagnitude(op, 9, 8, 8);
    if (['ShearX', 'ShearY', 'TranslateX', 'TranslateY', 'Rotate', 'Brightness', 'Color', 'Contrast', 'Sharpness'].includes(op) && rng.int(2) === 1) v = -v;
    expected = applyOp(op, v, expected, 8, 8, 3);
  }
  assert.deepEqual(a, expected);
  // Over many seeds every operation shows up and the input is never modified.
  const copy = px.slice();
  const seen = new Set<string>();
  for (let s = 0; s < 200; s++) {
    const r = new Rng(s);
    seen.add(RAND_AUGMENT_OPS[r.int(RAND_AUGMENT_OPS.length)]);
    randAugmentImage(px, 8, 8, 3, { n: 3, m: 30 }, new Rng(s));
  }
  assert.equal(seen.size, RAND_AUGMENT_OPS.length);
  assert.deepEqual(px, copy);
});

test('in-memory batches: RandAugment changes training pixels, seeded; without it the batch is unchanged', () => {
  const images = { height: 6, width: 6, channels: 1, pixels: Uint8Array.from({ length: 4 * 36 }, (_, i) => (i * 29) % 256), labels: Int32Array.from([0, 1, 0, 1]), count: 4 };
  const batches = new InMemoryBatches(images as never, [0], [1 / 255]); // x = pixel value
  const plain = batches.make([0, 1, 2, 3], { padCrop: 0, flip: false }, new Rng(3));
  assert.deepEqual([...plain.x.slice(0, 36)], [...images.pixels.slice(0, 36)]);
  const spec = { padCrop: 0, flip: false, randAugment: { n: 2, m: 20 } };
  const a = batches.make([0, 1, 2, 3], spec, new Rng(3));
  const b = batches.make([0, 1, 2, 3], spec, new Rng(3));
  assert.deepEqual(a.x, b.x);
  assert.notDeepEqual(a.x, plain.x);
  // Image by image, exactly the standalone op sequence on the (uncropped) pixels.
  const rng = new Rng(3);
  for (let k = 0; k < 4; k++) {
    const want = randAugmentImage(images.pixels.subarray(k * 36, (k + 1) * 36), 6, 6, 1, { n: 2, m: 20 }, rng);
    assert.deepEqual([...a.x.slice(k * 36, (k + 1) * 36)], [...want]);
  }
});

test('image lists: RandAugment runs on training images only, seeded', async () => {
  const sharp = (await import('sharp')).default;
  const img = await sharp({ create: { width: 20, height: 16, channels: 3, background: { r: 200, g: 90, b: 30 } } })
    .composite([{ input: { create: { width: 6, height: 6, channels: 3, background: { r: 10, g: 250, b: 120 } } }, left: 2, top: 3 }])
    .png()
    .toBuffer();
  const base = resolveTransform({ size: 12, mean: [0, 0, 0], std: [1, 1, 1], jitter: { brightness: 0, contrast: 0, saturation: 0 } });
  const withRa = resolveTransform({ ...base, randAugment: { n: 2, m: 30 } });
  const run = async (t: typeof base, mode: 'train' | 'test', seed: number) => {
    const out = new Float32Array(12 * 12 * 3);
    await transformImage(img, mode, t, seed, out, 0);
    return out;
  };
  assert.deepEqual(await run(withRa, 'test', 1), await run(base, 'test', 1)); // test images: never
  assert.deepEqual(await run(withRa, 'train', 1), await run(withRa, 'train', 1));
  let differs = 0;
  for (let s = 0; s < 6; s++) if (JSON.stringify([...(await run(withRa, 'train', s))]) !== JSON.stringify([...(await run(base, 'train', s))])) differs++;
  assert.ok(differs >= 4, `RandAugment changed ${differs} of 6 training images`);
});

test('recipes: randAugment hashes only when set, and is validated', () => {
  const plain = tinyRecipe();
  const ra = tinyRecipe({ dataset: { augment: { padCrop: 1, flip: true, randAugment: { n: 2, m: 9 } } } });
  assert.equal(recipeHash(tinyRecipe({ dataset: { augment: { padCrop: 1, flip: true } } })), recipeHash(plain));
  assert.notEqual(recipeHash(ra), recipeHash(plain));
  assert.throws(() => tinyRecipe({ dataset: { augment: { padCrop: 1, flip: true, randAugment: { n: 2, m: 31 } } } }), /randAugment\.m/);
  assert.throws(() => tinyRecipe({ dataset: { augment: { padCrop: 1, flip: true, randAugment: { n: 2 } } } }), /randAugment\.m/);
});

test('lt-bench run with RandAugment: recorded in run.json, its own row in the table', () => {
  const dir = tempDir();
  const results = path.join(dir, 'results');
  const recipe = (name: string, extra: Record<string, unknown>) =>
    writeYaml(dir, name, {
      dataset: { name: 'synthetic', imbalanceRatio: 4, valPerClass: 2, synthetic: { numClasses: 3, perClass: 12, testPerClass: 4, size: 6 }, augment: { flip: true, ...extra } },
      backbone: { name: 'resnet8' },
      method: { name: 'softmax' },
      train: { epochs: 1, batchSize: 8 },
      eval: { thresholds: { head: 10, tail: 4 } },
    });
  const cli = (...args: string[]) => spawnSync(process.execPath, [path.join(packageRoot, 'bin', 'lt-bench.js'), ...args], { encoding: 'utf8' });
  for (const file of [recipe('plain.yaml', {}), recipe('ra.yaml', { randAugment: { n: 2, m: 10 } })]) {
    const r = cli('run', file, '--results', results, '--backend', testBackend);
    assert.equal(r.status, 0, r.stderr);
  }
  const runs = JSON.parse(cli('runs', 'ls', '--results', results, '--json').stdout) as Array<{ runId: string }>;
  const records = runs.map((r) => JSON.parse(readFileSync(path.join(results, r.runId, 'run.json'), 'utf8')));
  assert.deepEqual(records.map((r) => r.dataset.randAugment ?? null).sort(), [{ n: 2, m: 10 }, null].sort());
  const table = cli('table', '--results', results, '--format', 'csv');
  assert.equal(table.status, 0, table.stderr);
  assert.match(table.stdout, /,softmax \(RandAugment n2 m10\),1 epoch,Acc,/);
  assert.match(table.stdout, /,softmax,1 epoch,Acc,/);
});
