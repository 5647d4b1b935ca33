/**
 * CIFAR-10 / CIFAR-100 in their binary ("python-free") format, and the LDAM-DRW long-tailed
 * selection.
 *
 * Formats (https://www.cs.toronto.edu/~kriz/cifar.html, "binary version"):
 * - `cifar-10-batches-bin/data_batch_{1..5}.bin`, `test_batch.bin`: records of 1 label byte +
 *   3072 pixel bytes (1024 R, 1024 G, 1024 B; each a 32×32 row-major plane), 10,000 per file.
 *   Class names in `batches.meta.txt`.
 * - `cifar-100-binary/train.bin` (50,000 records), `test.bin` (10,000): 1 coarse label byte +
 *   1 fine label byte + 3072 pixel bytes. Names in `fine_label_names.txt`, `coarse_label_names.txt`.
 * Pixels are returned HWC (the `ImageArray` layout). The train order is the files' order, which
 * is the order torchvision's CIFAR datasets present, so LDAM-DRW's index-based selection
 * carries over.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImageArray, SourceData } from '../types.js';
import type { Rng } from '../../rng.js';
import { NumpyLegacyRandom } from './numpy-random.js';

export type CifarVariant = 'cifar10' | 'cifar100';

export interface CifarOptions {
  /** The extracted binary folder (`cifar-10-batches-bin` / `cifar-100-binary`) or the folder holding it. */
  root: string;
  variant: CifarVariant;
  /** CIFAR-100 only: which label byte to use (default fine, 100 classes). */
  labels?: 'fine' | 'coarse';
}

/** LDAM-DRW `cifar_train.py` normalisation (used there for both CIFAR-10 and CIFAR-100). */
export const CIFAR_MEAN = [0.4914, 0.4822, 0.4465];
export const CIFAR_STD = [0.2023, 0.1994, 0.201];

const PIXELS = 3072;

const LAYOUT = {
  cifar10: {
    dir: 'cifar-10-batches-bin',
    train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
    test: ['test_batch.bin'],
    labelBytes: 1,
    title: 'CIFAR-10',
    archive: 'cifar-10-binary.tar.gz',
  },
  cifar100: {
    dir: 'cifar-100-binary',
    train: ['train.bin'],
    test: ['test.bin'],
    labelBytes: 2,
    title: 'CIFAR-100',
    archive: 'cifar-100-binary.tar.gz',
  },
} as const;

export class CifarFormatError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
    this.name = 'CifarFormatError';
  }
}

/** Where the binary files are: `root` itself or `root/<dir>`. */
export function resolveCifarDir(root: string, variant: CifarVariant): string {
  const layout = LAYOUT[variant];
  const nested = path.join(root, layout.dir);
  if (existsSync(path.join(nested, layout.train[0]))) return nested;
  if (existsSync(path.join(root, layout.train[0]))) return root;
  const pyDir = path.join(root, variant === 'cifar10' ? 'cifar-10-batches-py' : 'cifar-100-python');
  const hint = existsSync(pyDir)
    ? ` Found ${pyDir}, the Python pickle version; lt-bench reads the binary version (${layout.archive}).`
    : ` Download ${layout.archive} from https://www.cs.toronto.edu/~kriz/cifar.html and extract it there.`;
  throw new CifarFormatError(
    `${layout.title}: missing file ${path.join(nested, layout.train[0])} (also looked for ${path.join(root, layout.train[0])}).${hint}`,
    path.join(nested, layout.train[0]),
  );
}

/** Reads CIFAR asynchronously (a wrapper of loadCifarSync, kept for callers that await). */
export async function loadCifar(opts: CifarOptions): Promise<SourceData> {
  return loadCifarSync(opts);
}

/** Reads a CIFAR binary folder into memory (≈180 MB for either dataset). */
export function loadCifarSync(opts: CifarOptions): SourceData {
  const layout = LAYOUT[opts.variant];
  const dir = resolveCifarDir(opts.root, opts.variant);
  const labelKind = opts.variant === 'cifar100' ? (opts.labels ?? 'fine') : 'fine';
  const numClasses = opts.variant === 'cifar10' ? 10 : labelKind === 'fine' ? 100 : 20;
  const files: SourceData['files'] = [];
  const read = (names: readonly string[]) => {
    const parts: ImageArray[] = [];
    for (const name of names) {
      const file = path.join(dir, name);
      let buf: Buffer;
      try {
        buf = readFileSync(file);
      } catch (e) {
        throw new CifarFormatError(`${layout.title}: missing or unreadable file ${file}: ${(e as Error).message}`, file);
      }
      files.push({ path: file, sha256: createHash('sha256').update(buf).digest('hex') });
      parts.push(parseCifarRecords(buf, file, layout.labelBytes, labelKind === 'coarse' ? 0 : layout.labelBytes - 1, numClasses));
    }
    return concatImages(parts);
  };
  const train = read(layout.train);
  const test = read(layout.test);
  return {
    name: opts.variant === 'cifar10' ? 'cifar10' : labelKind === 'fine' ? 'cifar100' : 'cifar100-coarse',
    numClasses,
    classNames: readClassNames(dir, opts.variant, labelKind, numClasses),
    train,
    test,
    files,
    mean: CIFAR_MEAN.slice(),
    std: CIFAR_STD.slice(),
  };
}

/**
 * Parses binary CIFAR records into HWC uint8. `labelBytes` is 1 (CIFAR-10) or 2 (CIFAR-100:
 * coarse, fine); `labelOffset` picks the label byte.
 */
export function parseCifarRecords(
  buf: Uint8Array,
  file: string,
  labelBytes: number,
  labelOffset: number,
  numClasses: number,
): ImageArray {
  const recordSize = labelBytes + PIXELS;
  if (buf.length === 0 || buf.length % recordSize !== 0) {
    throw new CifarFormatError(
      `${file}: ${buf.length} bytes is not a whole number of ${recordSize}-byte records ` +
        `(${labelBytes} label byte${labelBytes > 1 ? 's' : ''} + 3072 pixels; a full batch of 10,000 is ${recordSize * 10000} bytes). ` +
        `Is this the right file, fully downloaded?`,
      file,
    );
  }
  const count = buf.length / recordSize;
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const base = r * recordSize;
    const label = buf[base + labelOffset];
    if (label >= numClasses)
      throw new CifarFormatError(`${file}: record ${r} has label ${label}, outside 0..${numClasses - 1}`, file);
    labels[r] = label;
    const src = base + labelBytes;
    const dst = r * PIXELS;
    // CHW planes -> HWC
    for (let p = 0; p < 1024; p++) {
      pixels[dst + p * 3] = buf[src + p];
      pixels[dst + p * 3 + 1] = buf[src + 1024 + p];
      pixels[dst + p * 3 + 2] = buf[src + 2048 + p];
    }
  }
  return { pixels, labels, count, height: 32, width: 32, channels: 3 };
}

function concatImages(parts: ImageArray[]): ImageArray {
  const count = parts.reduce((a, p) => a + p.count, 0);
  const pixels = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let at = 0;
  for (const p of parts) {
    pixels.set(p.pixels, at * PIXELS);
    labels.set(p.labels, at);
    at += p.count;
  }
  return { pixels, labels, count, height: 32, width: 32, channels: 3 };
}

function readClassNames(
  dir: string,
  variant: CifarVariant,
  labelKind: 'fine' | 'coarse',
  numClasses: number,
): string[] | undefined {
  const name = variant === 'cifar10' ? 'batches.meta.txt' : `${labelKind}_label_names.txt`;
  try {
    const names = readFileSync(path.join(dir, name), 'utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    return names.length === numClasses ? names : undefined;
  } catch {
    return undefined;
  }
}

export interface LongTailSelectOptions {
  /**
   * Replays LDAM-DRW exactly: `np.random.seed(numpySeed)` then `np.random.shuffle` per class
   * (official `rand_number` 0). Takes precedence over `rng`.
   */
  numpySeed?: number;
  /** Otherwise lt-bench's seeded generator shuffles each class. */
  rng?: Rng;
}

/**
 * LDAM-DRW `gen_imbalanced_data`: for each class in label order, shuffle the indices of that
 * class (in their original order) and keep the first counts[c]. Returns the kept indices, class
 * by class (class 0's first), in the official order.
 */
export function selectLongTail(labels: Int32Array, counts: number[], opts: LongTailSelectOptions): Int32Array {
  const shuffle =
    opts.numpySeed !== undefined
      ? ((g) => (a: Int32Array) => void g.shuffle(a))(new NumpyLegacyRandom(opts.numpySeed))
      : opts.rng
        ? ((r: Rng) => (a: Int32Array) => void r.shuffle(a))(opts.rng)
        : undefined;
  if (!shuffle) throw new Error('selectLongTail: give numpySeed (official split) or rng');
  const byClass: number[][] = counts.map(() => []);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0 || y >= counts.length) throw new Error(`selectLongTail: label ${y} of image ${i} outside 0..${counts.length - 1}`);
    byClass[y].push(i);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const out = new Int32Array(total);
  let at = 0;
  // np.unique(targets) skips absent classes; the official zip pairs counts with present classes only.
  counts.forEach((n, c) => {
    if (byClass[c].length === 0) {
      if (n > 0) throw new Error(`selectLongTail: class ${c} has no images but the profile asks for ${n}`);
      return;
    }
    if (n > byClass[c].length) throw new Error(`selectLongTail: class ${c} has ${byClass[c].length} images, profile asks ${n}`);
    const idx = Int32Array.from(byClass[c]);
    shuffle(idx);
    out.set(idx.subarray(0, n), at);
    at += n;
  });
  return out;
}
