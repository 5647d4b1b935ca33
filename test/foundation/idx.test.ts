import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseIdxImages, parseIdxLabels, readFashionMnist } from '../../src/data/sources/idx.js';
import { tempDir } from './helpers.js';

function idxImages(n: number, h: number, w: number): Uint8Array {
  const b = new Uint8Array(16 + n * h * w);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x803);
  v.setUint32(4, n);
  v.setUint32(8, h);
  v.setUint32(12, w);
  for (let i = 16; i < b.length; i++) b[i] = i % 251;
  return b;
}

function idxLabels(labels: number[]): Uint8Array {
  const b = new Uint8Array(8 + labels.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x801);
  v.setUint32(4, labels.length);
  b.set(labels, 8);
  return b;
}

test('parses IDX images and labels', () => {
  const img = parseIdxImages(idxImages(2, 3, 4), 'x');
  assert.deepEqual([img.count, img.height, img.width, img.pixels.length], [2, 3, 4, 24]);
  assert.equal(img.pixels[0], 16);
  assert.deepEqual(Array.from(parseIdxLabels(idxLabels([3, 1, 4]), 'y')), [3, 1, 4]);
});

test('bad magic and truncation are data errors naming the file', () => {
  const bad = idxImages(2, 3, 4);
  bad[3] = 0x01;
  assert.throws(() => parseIdxImages(bad, '/d/imgs'), (e: any) => e.exitCode === 3 && e.message.startsWith('/d/imgs: not an IDX image file'));
  assert.throws(() => parseIdxImages(idxImages(2, 3, 4).subarray(0, 30), '/d/imgs'), /\/d\/imgs: truncated/);
  assert.throws(() => parseIdxLabels(idxLabels([1, 2]).subarray(0, 9), '/d/lbl'), /\/d\/lbl: truncated/);
});

test('reads a gzipped IDX directory; labels out of range and missing files are data errors', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idxImages(3, 2, 2)));
  writeFileSync(path.join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idxLabels([0, 9, 4])));
  writeFileSync(path.join(dir, 't10k-images-idx3-ubyte'), idxImages(1, 2, 2));
  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([2]));
  const src = readFashionMnist(dir);
  assert.equal(src.train.count, 3);
  assert.deepEqual(Array.from(src.train.labels), [0, 9, 4]);
  assert.equal(src.test.count, 1);
  assert.equal(src.files.length, 4);
  assert.match(src.files[0].sha256, /^[0-9a-f]{64}$/);

  writeFileSync(path.join(dir, 't10k-labels-idx1-ubyte'), idxLabels([12]));
  assert.throws(() => readFashionMnist(dir), /label 12 at index 0 is outside 0..9/);
  const empty = tempDir();
  assert.throws(() => readFashionMnist(empty), (e: any) => e.exitCode === 3 && /file not found/.test(e.message));
});
