/**
 * The MoCo v2 view preset: each op against values computed by hand, the draws' bounds and
 * determinism, and the preset through both kinds of source (in-memory and image lists).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { InMemoryBatchSource, ImageListBatchSource, type SourceBatch } from '../../src/data/batch-source.js';
import { resolveTransform, transformImage } from '../../src/data/image-pipeline.js';
import { formatImageList, ImageListSource } from '../../src/data/sources/image-list.js';
import {
  blurKernelSize,
  colourJitter,
  gaussianBlur,
  gaussianKernel1d,
  grayscale,
  mocoCropBox,
  mocoV2Image,
  sampleMocoColour,
} from '../../src/data/view-mocov2.js';
import { Rng } from '../../src/rng.js';
import { tempDir } from '../foundation/helpers.js';
import { writeImage } from './image-fixtures.js';

const close = (a: number, b: number, tol = 1e-4) => Math.abs(a - b) <= tol;

test('MoCo v2 crop boxes: inside the image, area 0.2–1 and ratio 3/4–4/3 over many draws, spanning the range', () => {
  for (const [W, H] of [
    [32, 32],
    [28, 28],
    [300, 200],
  ]) {
    const rng = new Rng(11);
    let minFrac = 1;
    let maxFrac = 0;
    for (let i = 0; i < 3000; i++) {
      const b = mocoCropBox(W, H, rng);
      assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= W && b.top + b.height <= H, JSON.stringify(b));
      const frac = (b.width * b.height) / (W * H);
      // w and h are each rounded by at most 0.5 from the drawn area / ratio.
      const slack = (0.5 * (b.width + b.height) + 0.25) / (W * H);
      assert.ok(frac >= 0.2 - slack && frac <= 1, `area ${frac} of ${W}x${H}`);
      const r = b.width / b.height;
      assert.ok(r >= (3 / 4) * (1 - 1 / b.height) - 1e-9 && r <= (4 / 3) * (1 + 1 / b.height) + 1e-9, `ratio ${r}`);
      minFrac = Math.min(minFrac, frac);
      maxFrac = Math.max(maxFrac, frac);
    }
    // A 3:2 image cannot hold a crop of near-full area at ratio 3/4..4/3 (those tries are redrawn).
    assert.ok(minFrac < 0.23 && maxFrac > (W === H ? 0.95 : 0.85), `${W}x${H}: areas ${minFrac}..${maxFrac}`);
  }
  // One draw by hand: the first try on 300x200 with the same generator state.
  const rng = new Rng(7);
  const copy = Rng.fromState(rng.state());
  const target = 60000 * (0.2 + copy.next() * 0.8);
  const aspect = Math.exp(Math.log(3 / 4) + copy.next() * (Math.log(4 / 3) - Math.log(3 / 4)));
  const w = Math.round(Math.sqrt(target * aspect));
  const h = Math.round(Math.sqrt(target / aspect));
  const b = mocoCropBox(300, 200, rng);
  assert.ok(w <= 300 && h <= 200, 'seed 7 fits on the first try');
  assert.deepEqual(b, { left: copy.int(300 - w + 1), top: copy.int(200 - h + 1), width: w, height: h });
});

test('grayscale: ITU-R 601-2 luma on three channels, a no-op on one', () => {
  const px = Float32Array.from([100, 50, 200, 255, 0, 0]);
  grayscale(px, 3);
  // 0.299·100 + 0.587·50 + 0.114·200 = 29.9 + 29.35 + 22.8 = 82.05; pure red: 0.299·255 = 76.245
  for (const v of px.subarray(0, 3)) assert.ok(close(v, 82.05));
  for (const v of px.subarray(3)) assert.ok(close(v, 76.245));
  const one = Float32Array.from([10, 20, 30]);
  grayscale(one, 1);
  assert.deepEqual(Array.from(one), [10, 20, 30]);
});

test('Gaussian blur by hand: kernel 3 at sigma 1, a centre impulse, and reflect padding at the border', () => {
  // exp(−1/2) = 0.6065306597; sum 2.2130613195 → [0.2740686, 0.4518628, 0.2740686]
  const k = gaussianKernel1d(3, 1);
  assert.ok(close(k[0], 0.2740686, 1e-6) && close(k[1], 0.4518628, 1e-6) && close(k[2], 0.2740686, 1e-6));
  const [w0, w1] = [0.2740686, 0.4518628];
  // 5x5 impulse of 100 at (2, 2): the 3x3 neighbourhood is 100·w_i·w_j, the rest 0.
  const img = new Float32Array(25);
  img[12] = 100;
  gaussianBlur(img, 5, 5, 1, 3, 1);
  assert.ok(close(img[12], 100 * w1 * w1, 1e-3)); // 20.418
  assert.ok(close(img[6], 100 * w0 * w0, 1e-3)); // 7.511
  assert.ok(close(img[7], 100 * w0 * w1, 1e-3)); // 12.384
  assert.equal(img[0], 0);
  // 3x3 impulse: reflect padding mirrors it into the border taps (index −1 → 1), so a corner gets (2·w0)².
  const small = new Float32Array(9);
  small[4] = 100;
  gaussianBlur(small, 3, 3, 1, 3, 1);
  assert.ok(close(small[0], 100 * (2 * w0) ** 2, 1e-3)); // 30.045
  assert.ok(close(small[1], 100 * 2 * w0 * w1, 1e-3)); // 24.768
  assert.ok(close(small[4], 100 * w1 * w1, 1e-3));
  // Kernel size ≈ 10% of the side, odd, at least 3.
  assert.deepEqual([28, 32, 64, 224].map(blurKernelSize), [3, 3, 7, 23]);
});

test('colour jitter: the op order matters and is applied as drawn; hue turns red to green at 1/3', () => {
  // One channel [50, 150]: brightness ×2 then contrast 0.5 → [100, 255] (clamped), mean 177.5 → [138.75, 216.25].
  const a = Float32Array.from([50, 150]);
  colourJitter(a, 1, [0, 1, 2, 3], [2, 0.5, 0, 0.3]);
  assert.deepEqual(Array.from(a), [138.75, 216.25]);
  // Contrast first: mean 100 → [75, 125], then ×2 → [150, 250]; saturation and hue skip one channel.
  const b = Float32Array.from([50, 150]);
  colourJitter(b, 1, [1, 0, 3, 2], [2, 0.5, 0, 0.3]);
  assert.deepEqual(Array.from(b), [150, 250]);
  const red = Float32Array.from([255, 0, 0]);
  colourJitter(red, 3, [3], [1, 1, 1, 1 / 3]);
  assert.ok(close(red[0], 0, 1e-3) && close(red[1], 255, 1e-3) && close(red[2], 0, 1e-3), Array.from(red).join(','));
  // The drawn plan: factors in [0.6, 1.4], hue in [−0.1, 0.1], sigma in [0.1, 2], order a permutation.
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const p = sampleMocoColour(rng);
    assert.deepEqual(p.order.slice().sort(), [0, 1, 2, 3]);
    p.factors.slice(0, 3).forEach((f) => assert.ok(f >= 0.6 && f <= 1.4));
    assert.ok(p.factors[3] >= -0.1 && p.factors[3] <= 0.1);
    assert.ok(p.sigma >= 0.1 && p.sigma <= 2);
  }
});

test('mocoV2Image: same generator state, same image; another state, another image', () => {
  const rng = new Rng(1);
  const src = Uint8Array.from({ length: 2 * 8 * 8 * 3 }, () => rng.int(256));
  const a = mocoV2Image(src, 8 * 8 * 3, 8, 8, 3, new Rng(42));
  const b = mocoV2Image(src, 8 * 8 * 3, 8, 8, 3, new Rng(42));
  const c = mocoV2Image(src, 8 * 8 * 3, 8, 8, 3, new Rng(43));
  assert.equal(a.length, 8 * 8 * 3);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  a.forEach((v) => assert.ok(v >= 0 && v <= 255));
});

async function first(it: AsyncIterable<SourceBatch>): Promise<SourceBatch> {
  for await (const b of it) return b;
  throw new Error('no batch');
}

test('in-memory source: mocov2 batches keep shape and dtype (1 and 3 channels), are seeded per view, test mode ignores the preset', async () => {
  for (const C of [1, 3]) {
    const rng = new Rng(C);
    const count = 5;
    const pixels = Uint8Array.from({ length: count * 6 * 6 * C }, () => rng.int(256));
    const labels = Int32Array.from({ length: count }, (_, i) => i % 2);
    const source = new InMemoryBatchSource({ pixels, labels, count, height: 6, width: 6, channels: C }, [0.5], [0.25], { padCrop: 1, flip: true });
    const order = Int32Array.from([4, 2, 0, 1]);
    const m = await first(source.epoch(order, 4, { mode: 'train', seed: 9, epoch: 0, preset: 'mocov2' }));
    const m2 = await first(source.epoch(order, 4, { mode: 'train', seed: 9, epoch: 0, preset: 'mocov2' }));
    const other = await first(source.epoch(order, 4, { mode: 'train', seed: 10, epoch: 0, preset: 'mocov2' }));
    const basic = await first(source.epoch(order, 4, { mode: 'train', seed: 9, epoch: 0 }));
    assert.deepEqual(m.shape, [4, 6, 6, C]);
    assert.ok(m.x instanceof Float32Array && m.x.length === 4 * 36 * C);
    assert.deepEqual(Array.from(m.y), [0, 0, 0, 1]);
    assert.deepEqual(m.x, m2.x);
    assert.notDeepEqual(m.x, other.x);
    assert.notDeepEqual(m.x, basic.x);
    // Normalised with the source's statistics: (0..255)/255 − 0.5, over 0.25 → [−2, 2].
    m.x.forEach((v) => assert.ok(v >= -2 - 1e-5 && v <= 2 + 1e-5));
    const t1 = await first(source.epoch(order, 4, { mode: 'test', preset: 'mocov2' }));
    const t2 = await first(source.epoch(order, 4, { mode: 'test' }));
    assert.deepEqual(t1.x, t2.x);
  }
});

test('image-list source: mocov2 images are size x size x 3 float32, seeded, and differ from the basic view', async () => {
  const root = tempDir();
  for (let i = 0; i < 3; i++) await writeImage(path.join(root, `img${i}.jpg`), { width: 40, height: 30, seed: i * 20, format: 'jpeg' });
  const list = path.join(root, 'train.txt');
  writeFileSync(list, formatImageList([0, 1, 2].map((i) => ({ path: `img${i}.jpg`, label: i % 2 }))));
  const lists = await ImageListSource.open({ root, numClasses: 2, lists: { train: list, test: list }, transform: { size: 16 }, workers: 0 });
  try {
    const source = new ImageListBatchSource(lists, 'train');
    const order = Int32Array.from([2, 0, 1]);
    const m = await first(source.epoch(order, 3, { mode: 'train', seed: 1, epoch: 0, preset: 'mocov2' }));
    const m2 = await first(source.epoch(order, 3, { mode: 'train', seed: 1, epoch: 0, preset: 'mocov2' }));
    const basic = await first(source.epoch(order, 3, { mode: 'train', seed: 1, epoch: 0 }));
    assert.deepEqual(m.shape, [3, 16, 16, 3]);
    assert.ok(m.x instanceof Float32Array && m.x.length === 3 * 16 * 16 * 3);
    assert.deepEqual(Array.from(m.y), [0, 0, 1]);
    assert.deepEqual(m.x, m2.x);
    assert.notDeepEqual(m.x, basic.x);
    m.x.forEach((v) => assert.ok(Number.isFinite(v)));
    // Through a worker thread the preset travels with the chunk: the same images.
    const pooled = await ImageListSource.open({ root, numClasses: 2, lists: { train: list, test: list }, transform: { size: 16 }, workers: 1 });
    try {
      const w = await first(new ImageListBatchSource(pooled, 'train').epoch(order, 3, { mode: 'train', seed: 1, epoch: 0, preset: 'mocov2' }));
      assert.deepEqual(w.x, m.x);
    } finally {
      await pooled.close();
    }
  } finally {
    await lists.close();
  }
  // transformImage: a solid grey image stays grey through jitter (a grey level moves, hue/saturation do not) and blur.
  const sharp = (await import('sharp')).default;
  const grey = await sharp({ create: { width: 30, height: 20, channels: 3, background: { r: 128, g: 128, b: 128 } } }).png().toBuffer();
  const t = resolveTransform({ size: 8, mean: [0, 0, 0], std: [1, 1, 1] });
  const out = new Float32Array(8 * 8 * 3);
  await transformImage(grey, 'train', t, 5, out, 0, 'mocov2');
  for (let i = 0; i < out.length; i += 3) assert.ok(close(out[i], out[i + 1], 1e-5) && close(out[i], out[i + 2], 1e-5) && close(out[i], out[0], 1e-4));
});
