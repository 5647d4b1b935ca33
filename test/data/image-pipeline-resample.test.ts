import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Rng } from '../../src/rng.js';
import {
  bilinearCoefficients,
  planBilinearResize,
  resampleRGB,
  resampleRGBReference,
  resampleUsesWasm,
} from '../../src/data/image-resample.js';
import { decodeGeometric, loadShrink, resolveTransform, transformImage } from '../../src/data/image-pipeline.js';

test('Pillow bilinear coefficients by hand: 4 -> 2 is a triangle of support 2, weights (3, 3, 1) / 7 in 22-bit fixed point', () => {
  const c = bilinearCoefficients(4, 0, 4, 2);
  assert.equal(c.ksize, 5); // ceil(support 2) * 2 + 1
  // centre 1.0: taps 0..2 at distances 0.25, 0.25, 0.75 (in units of the support) -> 0.75, 0.75, 0.25
  assert.deepEqual(Array.from(c.bounds), [0, 3, 1, 3]);
  // round(3/7 · 2^22) = 1797559, round(1/7 · 2^22) = 599186; they sum to exactly 2^22
  assert.deepEqual(Array.from(c.weights), [1797559, 1797559, 599186, 0, 0, 599186, 1797559, 1797559, 0, 0]);
});

test('resize by hand: row (0, 70, 140, 210) to 2 pixels is (50, 160); a constant channel stays put', () => {
  const src = Uint8Array.from([0, 255, 10, 70, 255, 10, 140, 255, 10, 210, 255, 10]);
  const plan = planBilinearResize(4, 1, 2, 1);
  // (3·0 + 3·70 + 140) / 7 = 50 and (70 + 3·140 + 3·210) / 7 = 160, each just under .5 in fixed point
  assert.deepEqual(Array.from(resampleRGB(plan, src)), [50, 255, 10, 160, 255, 10]);
  assert.deepEqual(Array.from(resampleRGB(plan, src, true)), [160, 255, 10, 50, 255, 10]);
});

// 7x5 RGB from Python's random.Random(5); the expected bytes are Pillow 9.4's Image.resize(..., BILINEAR)
const SRC75 = [130, 183, 14, 238, 127, 26, 80, 57, 190, 240, 126, 194, 52, 127, 6, 110, 208, 143, 93, 199, 81, 36, 71, 227, 64, 67, 0, 2, 107, 110, 84, 85, 148, 160, 101, 104, 93, 100, 196, 152, 11, 184, 212, 84, 74, 135, 33, 169, 154, 1, 173, 33, 158, 181, 156, 246, 161, 94, 246, 241, 90, 29, 131, 11, 183, 206, 9, 214, 187, 192, 4, 231, 23, 92, 100, 60, 125, 236, 176, 181, 128, 236, 55, 188, 151, 18, 221, 46, 106, 174, 185, 75, 174, 141, 47, 159, 162, 156, 90, 40, 76, 158, 247, 82, 24];
const PIL_DOWN_3x4 = [135, 118, 69, 133, 110, 133, 101, 157, 112, 94, 63, 118, 90, 113, 146, 119, 110, 177, 98, 110, 175, 88, 111, 173, 145, 142, 178, 97, 91, 194, 129, 86, 153, 148, 102, 115];
// im.crop((1, 1, 4, 3)).resize((5, 4), BILINEAR): torchvision's crop-then-resize, enlarging
const PIL_CROP_UP_5x4 = [64, 67, 0, 39, 83, 44, 2, 107, 110, 51, 94, 133, 84, 85, 148, 82, 59, 42, 65, 67, 76, 40, 81, 126, 59, 94, 144, 71, 103, 156, 117, 42, 127, 117, 36, 139, 116, 28, 157, 74, 95, 167, 46, 140, 173, 135, 33, 169, 143, 20, 171, 154, 1, 173, 81, 95, 178, 33, 158, 181];

function cropRGB(src: Uint8Array, w: number, r: { left: number; top: number; width: number; height: number }): Uint8Array {
  const out = new Uint8Array(r.width * r.height * 3);
  for (let y = 0; y < r.height; y++) out.set(src.subarray(((r.top + y) * w + r.left) * 3, ((r.top + y) * w + r.left + r.width) * 3), y * r.width * 3);
  return out;
}

test('bit-exact with Pillow: shrinking 7x5 to 3x4 and enlarging a 3x2 crop to 5x4', () => {
  const src = Uint8Array.from(SRC75);
  const down = planBilinearResize(7, 5, 3, 4);
  assert.deepEqual(down.source, { left: 0, top: 0, width: 7, height: 5 });
  assert.deepEqual(Array.from(resampleRGB(down, src)), PIL_DOWN_3x4);
  assert.deepEqual(Array.from(resampleRGBReference(down, src)), PIL_DOWN_3x4);
  const crop = cropRGB(src, 7, { left: 1, top: 1, width: 3, height: 2 });
  assert.deepEqual(Array.from(resampleRGB(planBilinearResize(3, 2, 5, 4), crop)), PIL_CROP_UP_5x4);
});

test('the WebAssembly kernels equal the JS reference on random sizes, windows and flips', () => {
  assert.ok(resampleUsesWasm(), 'WebAssembly SIMD kernels load');
  const rng = new Rng(11);
  for (let trial = 0; trial < 40; trial++) {
    const w = 1 + rng.int(60);
    const h = 1 + rng.int(60);
    const ow = 1 + rng.int(50);
    const oh = 1 + rng.int(50);
    const win = { left: rng.int(ow), top: rng.int(oh), width: 0, height: 0 };
    win.width = 1 + rng.int(ow - win.left);
    win.height = 1 + rng.int(oh - win.top);
    const plan = planBilinearResize(w, h, ow, oh, win);
    const src = Uint8Array.from({ length: plan.source.width * plan.source.height * 3 }, () => rng.int(256));
    const flip = rng.next() < 0.5;
    assert.deepEqual(resampleRGB(plan, src, flip), Buffer.from(resampleRGBReference(plan, src, flip)), `trial ${trial}: ${w}x${h} -> ${ow}x${oh} window ${JSON.stringify(win)}`);
  }
});

test('a window of the output equals that crop of the whole output, reading only the source region it names', () => {
  const rng = new Rng(3);
  const W = 50;
  const H = 37;
  const full = Uint8Array.from({ length: W * H * 3 }, () => rng.int(256));
  const whole = resampleRGB(planBilinearResize(W, H, 34, 25), full); // Resize(25) of 50x37, as torchvision
  const win = { left: 5, top: 3, width: 22, height: 22 }; // then CenterCrop(22)
  const plan = planBilinearResize(W, H, 34, 25, win);
  assert.ok(plan.source.width < W && plan.source.height < H, `reads ${JSON.stringify(plan.source)}`);
  assert.deepEqual(resampleRGB(plan, cropRGB(full, W, plan.source)), Buffer.from(cropRGB(whole, 34, win)));
});

async function smoothJpeg(w: number, h: number): Promise<Buffer> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      px[(y * w + x) * 3] = (x * 255) / w;
      px[(y * w + x) * 3 + 1] = (y * 255) / h;
      px[(y * w + x) * 3 + 2] = 128 + 100 * Math.sin((x + y) / 40);
    }
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 95 }).toBuffer();
}

test("resampler 'pil' and 'libvips' give the same crops and flips; pixels differ only by rounding when shrinking", async () => {
  const jpeg = await smoothJpeg(160, 120);
  const pil = resolveTransform({ size: 32 });
  assert.equal(pil.resampler, 'pil');
  assert.equal(pil.shrinkOnLoad, false);
  const vips = resolveTransform({ size: 32, resampler: 'libvips' });
  for (const mode of ['train', 'test'] as const)
    for (let seed = 0; seed < 6; seed++) {
      const a = await decodeGeometric(jpeg, mode, pil, new Rng(seed));
      const b = await decodeGeometric(jpeg, mode, vips, new Rng(seed));
      assert.equal(a.flipped, b.flipped);
      assert.equal(a.rgb.length, 32 * 32 * 3);
      let max = 0;
      for (let i = 0; i < a.rgb.length; i++) max = Math.max(max, Math.abs(a.rgb[i] - b.rgb[i]));
      assert.ok(max <= 2, `${mode} seed ${seed}: max difference ${max}`); // every crop here (>= 40 px) shrinks to 32
    }
  // transformImage consumes the resampler's view before the next image overwrites it
  const out = new Float32Array(2 * 32 * 32 * 3);
  await transformImage(jpeg, 'test', pil, 0, out, 0);
  await transformImage(jpeg, 'train', pil, 1, out, 32 * 32 * 3);
  const again = new Float32Array(32 * 32 * 3);
  await transformImage(jpeg, 'test', pil, 0, again, 0);
  assert.deepEqual(out.subarray(0, 32 * 32 * 3), again);
});

test('shrinkOnLoad: the integer reduction keeps the region at least the output size; JPEGs only; close to the full decode', async () => {
  const jpeg = await smoothJpeg(640, 480);
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  const region = (width: number, height: number) => ({ left: 0, top: 0, width, height });
  assert.equal(loadShrink(jpeg, region(640, 480), 224, 224), 2); // floor(min(2.86, 2.14))
  assert.equal(loadShrink(jpeg, region(640, 480), 64, 64), 7);
  assert.equal(loadShrink(jpeg, region(447, 480), 224, 224), 1);
  assert.equal(loadShrink(png, region(640, 480), 64, 64), 1);
  const exact = resolveTransform({ size: 64 });
  const shrunk = resolveTransform({ size: 64, shrinkOnLoad: true });
  for (const mode of ['train', 'test'] as const)
    for (let seed = 0; seed < 4; seed++) {
      const a = await decodeGeometric(jpeg, mode, exact, new Rng(seed));
      const b = await decodeGeometric(jpeg, mode, shrunk, new Rng(seed));
      assert.equal(a.flipped, b.flipped);
      let sum = 0;
      for (let i = 0; i < a.rgb.length; i++) sum += Math.abs(a.rgb[i] - b.rgb[i]);
      // another resampling path (measured: 0.2-0.5 levels on average), but not the same one
      assert.ok(sum > 0 && sum / a.rgb.length < 1, `${mode} seed ${seed}: mean difference ${sum / a.rgb.length}`);
    }
  // 480 rows are under twice 250: every crop decodes at full size, identical to the exact path
  const a = await decodeGeometric(jpeg, 'train', resolveTransform({ size: 250 }), new Rng(5));
  const b = await decodeGeometric(jpeg, 'train', resolveTransform({ size: 250, shrinkOnLoad: true }), new Rng(5));
  assert.deepEqual(a.rgb, b.rgb);
});
