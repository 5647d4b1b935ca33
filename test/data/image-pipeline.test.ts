import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/rng.js';
import {
  applyJitter,
  centerCropBox,
  headerSize,
  jitterNormalizeInto,
  jitterNormalizeJs,
  pyRound,
  randomResizedCropBox,
  resizeShorterSide,
  resolveTransform,
  sampleJitter,
  transformImage,
} from '../../src/data/image-pipeline.js';
import { planBilinearResize, resampleRGBView } from '../../src/data/image-resample.js';
import sharp from 'sharp';

test('torchvision geometry: Resize(256) of 500x375 is 341x256, CenterCrop(224) at (58, 16)', () => {
  assert.deepEqual(resizeShorterSide(500, 375, 256), { width: 341, height: 256 });
  assert.deepEqual(resizeShorterSide(375, 500, 256), { width: 256, height: 341 });
  assert.deepEqual(centerCropBox(341, 256, 224), { left: 58, top: 16, width: 224, height: 224 }); // round(58.5) = 58 in Python
  assert.deepEqual([pyRound(0.5), pyRound(1.5), pyRound(2.5), pyRound(-0.5), pyRound(2.4)], [0, 2, 2, -0, 2]);
  assert.throws(() => centerCropBox(100, 100, 224), /larger than the resized image/);
});

test('random-resized-crop boxes stay inside the image with area and ratio in range', () => {
  const rng = new Rng(1);
  for (let i = 0; i < 500; i++) {
    const b = randomResizedCropBox(500, 375, rng);
    assert.ok(b.left >= 0 && b.top >= 0 && b.left + b.width <= 500 && b.top + b.height <= 375);
    const frac = (b.width * b.height) / (500 * 375);
    assert.ok(frac > 0.07 && frac <= 1.0001, `area ${frac}`);
    assert.ok(b.width / b.height > 0.7 && b.width / b.height < 1.4);
  }
  // an extreme aspect that no try fits falls back to a centre crop with the ratio clamped
  const b = randomResizedCropBox(1000, 10, new Rng(2), [0.99, 1], [1, 1]);
  assert.deepEqual(b, { left: 495, top: 0, width: 10, height: 10 });
});

test('colour jitter by hand: brightness x f, contrast around the grey mean, saturation towards grey', () => {
  const px = Float32Array.from([100, 50, 200, 0, 0, 0]);
  applyJitter(px, { order: [0], factors: [1.5, 1, 1] });
  assert.deepEqual(Array.from(px), [150, 75, 255, 0, 0, 0]); // 300 clamps to 255
  const c = Float32Array.from([100, 100, 100, 200, 200, 200]); // grey mean 150
  applyJitter(c, { order: [1], factors: [1, 0.5, 1] });
  assert.deepEqual(Array.from(c), [125, 125, 125, 175, 175, 175]);
  const s = Float32Array.from([255, 0, 0]); // grey = 0.299 * 255 = 76.245
  applyJitter(s, { order: [2], factors: [1, 1, 0] });
  s.forEach((v) => assert.ok(Math.abs(v - 76.245) < 1e-3));
  const plan = sampleJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4 }, new Rng(3));
  assert.deepEqual(plan.order.slice().sort(), [0, 1, 2]);
  plan.factors.forEach((f) => assert.ok(f >= 0.6 && f <= 1.4));
});

test('test transform of a solid image gives the normalised colour; train output is deterministic per seed', async () => {
  const buf = await sharp({ create: { width: 50, height: 40, channels: 3, background: { r: 255, g: 128, b: 0 } } }).png().toBuffer();
  const t = resolveTransform({ size: 16 });
  assert.equal(t.resize, 18); // 16 * 256 / 224 rounded
  const out = new Float32Array(16 * 16 * 3);
  await transformImage(buf, 'test', t, 0, out, 0);
  const expect = [(1 - 0.485) / 0.229, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225];
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - expect[i % 3]) < 1e-5);
  const grad = await sharp(Buffer.from(Array.from({ length: 60 * 40 * 3 }, (_, i) => (i * 7) % 256)), { raw: { width: 60, height: 40, channels: 3 } }).jpeg().toBuffer();
  const a = new Float32Array(16 * 16 * 3);
  const b = new Float32Array(16 * 16 * 3);
  const c = new Float32Array(16 * 16 * 3);
  await transformImage(grad, 'train', t, 42, a, 0);
  await transformImage(grad, 'train', t, 42, b, 0);
  await transformImage(grad, 'train', t, 43, c, 0);
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

test('fused jitter + normalisation equals applyJitter then normalise', () => {
  const rng = new Rng(9);
  const rgb = Uint8Array.from({ length: 7 * 5 * 3 }, () => rng.int(256));
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  for (let trial = 0; trial < 20; trial++) {
    const plan = sampleJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4 }, rng);
    const ref = Float32Array.from(rgb);
    applyJitter(ref, plan);
    const out = new Float32Array(rgb.length + 3);
    jitterNormalizeInto(rgb, plan, mean, std, out, 3);
    for (let i = 0; i < rgb.length; i++) {
      const want = (ref[i] / 255 - mean[i % 3]) / std[i % 3];
      assert.ok(Math.abs(out[i + 3] - want) < 1e-4, `trial ${trial} value ${i}: ${out[i + 3]} vs ${want}`);
    }
  }
});

test('image size from the JPEG / PNG header equals libvips metadata', async () => {
  for (const [w, h] of [[500, 375], [17, 301]]) {
    const img = sharp({ create: { width: w, height: h, channels: 3, background: '#336699' } });
    for (const buf of [await img.clone().jpeg().toBuffer(), await img.clone().jpeg({ progressive: true }).toBuffer(), await img.clone().png().toBuffer()]) {
      assert.deepEqual(headerSize(buf), { width: w, height: h });
    }
  }
  assert.equal(headerSize(Buffer.from('not an image')), null);
  assert.equal(headerSize(Buffer.from([0xff, 0xd8, 0xff])), null);
});

test('jitter + normalisation kernel (WebAssembly) equals the JS version: any length, no plan, factors 0 and 1, input in its memory', () => {
  const rng = new Rng(21);
  const mean = [0.485, 0.456, 0.406];
  const std = [0.229, 0.224, 0.225];
  for (let trial = 0; trial < 30; trial++) {
    const npix = 1 + rng.int(70); // tails: not a multiple of 4 pixels
    const rgb = Uint8Array.from({ length: npix * 3 }, () => rng.int(256));
    const plan =
      trial % 5 === 0
        ? null
        : trial % 5 === 1
          ? { order: [2, 0, 1], factors: [1, 0, 1.4] as [number, number, number] } // brightness 1 is skipped, contrast 0 is flat grey
          : sampleJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4 }, rng);
    const want = new Float32Array(rgb.length + 5);
    const got = new Float32Array(rgb.length + 5);
    jitterNormalizeJs(rgb, plan, mean, std, want, 5);
    jitterNormalizeInto(rgb, plan, mean, std, got, 5);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 2e-5, `trial ${trial} value ${i}: ${got[i]} vs ${want[i]}`);
  }
  // the resampler's output is read where it lies in the kernels' memory
  const src = Uint8Array.from({ length: 9 * 7 * 3 }, () => rng.int(256));
  const rplan = planBilinearResize(9, 7, 6, 5);
  const view = resampleRGBView(rplan, src);
  const copy = Uint8Array.from(view);
  const jplan = sampleJitter({ brightness: 0.4, contrast: 0.4, saturation: 0.4 }, rng);
  const want = new Float32Array(copy.length);
  const got = new Float32Array(copy.length);
  jitterNormalizeJs(copy, jplan, mean, std, want, 0);
  jitterNormalizeInto(view, jplan, mean, std, got, 0);
  for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 2e-5);
});
