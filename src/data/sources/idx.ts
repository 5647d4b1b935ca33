/**
 * IDX reader (the MNIST / Fashion-MNIST format): big-endian header, magic 0x0803 for uint8
 * images [n, rows, cols], 0x0801 for uint8 labels [n]; files may be gzipped.
 */
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../../errors.js';
import { sha256 } from '../../recipe/hash.js';
import type { ImageArray, SourceData } from '../types.js';

function readMaybeGz(file: string): { bytes: Uint8Array; sha256: string } {
  if (!existsSync(file)) throw new DataError(`${file}: file not found`, file);
  const raw = readFileSync(file);
  const digest = sha256(raw);
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return { bytes: gunzipSync(raw), sha256: digest };
    } catch (e) {
      throw new DataError(`${file}: corrupt gzip data (${(e as Error).message}); re-copy the file`, file);
    }
  }
  return { bytes: raw, sha256: digest };
}

export function parseIdxImages(bytes: Uint8Array, file: string): { pixels: Uint8Array; count: number; height: number; width: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 16 || view.getUint32(0) !== 0x00000803) {
    throw new DataError(`${file}: not an IDX image file (expected magic 0x00000803)`, file);
  }
  const count = view.getUint32(4);
  const height = view.getUint32(8);
  const width = view.getUint32(12);
  const expected = 16 + count * height * width;
  if (bytes.byteLength !== expected) {
    throw new DataError(`${file}: truncated or oversized IDX image file: ${bytes.byteLength} bytes, header says ${expected}`, file);
  }
  return { pixels: bytes.slice(16), count, height, width };
}

export function parseIdxLabels(bytes: Uint8Array, file: string): Int32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.byteLength < 8 || view.getUint32(0) !== 0x00000801) {
    throw new DataError(`${file}: not an IDX label file (expected magic 0x00000801)`, file);
  }
  const count = view.getUint32(4);
  if (bytes.byteLength !== 8 + count) {
    throw new DataError(`${file}: truncated or oversized IDX label file: ${bytes.byteLength} bytes, header says ${8 + count}`, file);
  }
  return Int32Array.from(bytes.subarray(8));
}

function findFile(dir: string, base: string): string {
  for (const name of [`${base}.gz`, base]) {
    const p = path.join(dir, name);
    if (existsSync(p)) return p;
  }
  return path.join(dir, `${base}.gz`);
}

function readSplit(dir: string, prefix: 'train' | 't10k', files: SourceData['files'], numClasses: number): ImageArray {
  const imgFile = findFile(dir, `${prefix}-images-idx3-ubyte`);
  const lblFile = findFile(dir, `${prefix}-labels-idx1-ubyte`);
  const img = readMaybeGz(imgFile);
  const lbl = readMaybeGz(lblFile);
  files.push({ path: imgFile, sha256: img.sha256 }, { path: lblFile, sha256: lbl.sha256 });
  const images = parseIdxImages(img.bytes, imgFile);
  const labels = parseIdxLabels(lbl.bytes, lblFile);
  if (labels.length !== images.count) {
    throw new DataError(`${lblFile}: ${labels.length} labels for ${images.count} images in ${imgFile}`, lblFile);
  }
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] < 0 || labels[i] >= numClasses) {
      throw new DataError(`${lblFile}: label ${labels[i]} at index ${i} is outside 0..${numClasses - 1}`, lblFile);
    }
  }
  return { pixels: images.pixels, labels, count: images.count, height: images.height, width: images.width, channels: 1 };
}

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

/** Reads Fashion-MNIST (or any 10-class IDX set with the same file names) from `dir`. */
export function readFashionMnist(dir: string): SourceData {
  const files: SourceData['files'] = [];
  const train = readSplit(dir, 'train', files, 10);
  const test = readSplit(dir, 't10k', files, 10);
  return {
    name: 'fashion-mnist',
    numClasses: 10,
    classNames: FASHION_MNIST_CLASSES,
    train,
    test,
    files,
    // Statistics of the Fashion-MNIST training set.
    mean: [0.286],
    std: [0.353],
  };
}
