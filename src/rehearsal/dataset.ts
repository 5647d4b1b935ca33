/**
 * The rehearsal dataset: a small synthetic ImageNet-LT in ImageNet-LT's real formats, so
 * `--rehearse` runs the study's whole path (lists, JPEG decoding, groups, balanced twin) in
 * minutes on a CPU.
 *
 * Layout, as the real dataset (paths relative to the root):
 *   train/<wnid>/<wnid>_<i>.JPEG            the "ImageNet-2012 train" pool
 *   val/<wnid>/ILSVRC2012_val_<8 digits>.JPEG  the "ImageNet-2012 val" set = ImageNet-LT's test
 *   ImageNet_LT_{train,val,test,balanced_train}.txt, classes.txt   `<path> <label>` lines
 *   rehearsal.json                           the reduced manifest and how the data was made
 *
 * Shape: C classes drawn from the ImageNet-LT manifest's own per-class counts, stratified so the
 * head / middle / tail proportions (385 / 479 / 136 of 1000) are kept (largest-remainder
 * rounding), evenly spaced within each group from its largest to its smallest class (so the
 * imbalance profile and its extremes are kept), in the manifest's label order; every count and
 * the group thresholds (> 100 head, < 20 tail) are multiplied by `scale` (each count rounded and
 * kept inside its group's scaled range, never below 1). Val, test and the balanced twin per class
 * scale alike (20, 50 → round(·scale), at least 1); the balanced twin has the LT total over the
 * classes per class, as ImageNet-LT's 115 = 115,846 / 1000. The lists are then drawn from the pool by
 * the same code as `lt-bench data make imagenet-lt` (src/data/make-lists.ts) with this reduced
 * manifest. Images are tiny JPEGs (16–24 px a side) whose colour and stripes depend on the class,
 * so a few steps already learn something; every pixel comes from a seeded Rng.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadSharp } from '../sharp.js';
import { DataError, UsageError } from '../errors.js';
import { checkManifest, countStats, loadManifest, type DatasetManifest } from '../data/manifests.js';
import { makeImageNetLt, writeLongTailLists } from '../data/make-lists.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { Rng } from '../rng.js';

export interface RehearsalDatasetOptions {
  /** Number of classes (default 20: 8 head, 9 middle, 3 tail). */
  classes?: number;
  /** Multiplier of every count and threshold (default 1/10: n_max 128, head > 10, tail < 2). */
  scale?: number;
  /** Seed of the images and of the list sampling (default 0). */
  seed?: number;
}

/** What `rehearsal.json` holds: enough to check a folder and to shrink recipes onto it. */
export interface RehearsalDatasetInfo {
  format: 'lt-bench-rehearsal-imagenet-lt';
  /** Bumped when the generator changes what it writes. */
  version: number;
  options: Required<RehearsalDatasetOptions>;
  /** ImageNet-LT labels (manifest indices) the classes were drawn from, in label order. */
  sourceLabels: number[];
  /** The reduced manifest (numClasses, classCounts, groupThresholds, groups, splits, balancedTwin). */
  manifest: DatasetManifest;
  /** Official list file names, relative to the root. */
  lists: { train: string; val: string; test: string; balancedTrain: string };
}

export const REHEARSAL_DATASET_VERSION = 1;
const FORMAT = 'lt-bench-rehearsal-imagenet-lt';
export const REHEARSAL_INFO_FILE = 'rehearsal.json';
const DEFAULTS: Required<RehearsalDatasetOptions> = { classes: 20, scale: 0.1, seed: 0 };

function resolveOptions(opts: RehearsalDatasetOptions): Required<RehearsalDatasetOptions> {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
  if (!Number.isInteger(o.classes) || o.classes < 3) throw new UsageError(`rehearsal dataset: classes ${o.classes}: expected an integer ≥ 3 (one class per group at least)`);
  if (!(o.scale > 0 && o.scale <= 1)) throw new UsageError(`rehearsal dataset: scale ${o.scale}: expected a number in (0, 1]`);
  if (!Number.isInteger(o.seed) || o.seed < 0) throw new UsageError(`rehearsal dataset: seed ${o.seed}: expected a non-negative integer`);
  return o;
}

/** Largest-remainder apportionment of `total` over `weights`. */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const raw = weights.map((w) => (total * w) / sum);
  const out = raw.map(Math.floor);
  const order = raw.map((r, i) => ({ i, rem: r - Math.floor(r) })).sort((a, b) => b.rem - a.rem || a.i - b.i);
  const deficit = total - out.reduce((a, b) => a + b, 0);
  for (let k = 0; k < deficit; k++) out[order[k].i]++;
  return out;
}

/** `k` indices spread evenly over 0..n−1, both ends included (the middle one when k = 1). */
function spread(n: number, k: number): number[] {
  if (k === 1) return [Math.floor((n - 1) / 2)];
  return Array.from({ length: k }, (_, i) => Math.round((i * (n - 1)) / (k - 1)));
}

/**
 * The reduced manifest: `classes` ImageNet-LT classes picked per group, counts and thresholds
 * scaled. Pure (no files); `checkManifest` holds for the result.
 */
export function rehearsalManifest(source: DatasetManifest, opts: RehearsalDatasetOptions = {}): { manifest: DatasetManifest; sourceLabels: number[] } {
  const o = resolveOptions(opts);
  if (!source.classCounts || !source.groups) throw new Error(`manifest ${source.name}: per-class counts and groups are needed to shrink it`);
  const t = source.groupThresholds;
  const stats = countStats(source.classCounts, t);
  const groups = ['head', 'middle', 'tail'] as const;
  const perGroup = apportion(o.classes, groups.map((g) => source.groups![g]));
  if (perGroup.some((k) => k === 0)) throw new UsageError(`rehearsal dataset: ${o.classes} classes leave a group empty (${perGroup.join('/')}); use more classes`);
  const thresholds = { head: t.head * o.scale, tail: t.tail * o.scale };
  // Scaled count ranges of the groups: head > head', middle tail'..head', tail 1..<tail'.
  const range = {
    head: [Math.floor(thresholds.head) + 1, Infinity],
    middle: [Math.ceil(thresholds.tail), Math.floor(thresholds.head)],
    tail: [1, Math.ceil(thresholds.tail) - 1],
  } as const;
  for (const g of groups) if (range[g][0] > range[g][1]) throw new UsageError(`rehearsal dataset: scale ${o.scale} leaves no count for the ${g} group (thresholds ${thresholds.head}/${thresholds.tail}); use a larger scale`);
  const picked: Array<{ label: number; count: number }> = [];
  groups.forEach((g, gi) => {
    // The group's classes, largest first (ties by label, so the pick is deterministic).
    const members = source.classCounts!.map((count, label) => ({ count, label })).filter((_, i) => stats.classGroups[i] === g);
    members.sort((a, b) => b.count - a.count || a.label - b.label);
    for (const i of spread(members.length, perGroup[gi])) {
      const m = members[i];
      picked.push({ label: m.label, count: Math.min(range[g][1], Math.max(range[g][0], Math.round(m.count * o.scale))) });
    }
  });
  picked.sort((a, b) => a.label - b.label);
  const classCounts = picked.map((p) => p.count);
  const scaledPer = (n: number) => Math.max(1, Math.round(n * o.scale));
  const valPer = scaledPer(typeof source.splits.val.perClass === 'number' ? source.splits.val.perClass : 20);
  const testPer = scaledPer(typeof source.splits.test.perClass === 'number' ? source.splits.test.perClass : 50);
  const s = countStats(classCounts, thresholds);
  // ImageNet-LT's twin has 115 per class, its LT total over the classes (115,846 / 1000): the same here.
  const balancedPer = Math.max(1, Math.floor(s.total / o.classes));
  const manifest: DatasetManifest = {
    name: 'imagenet-lt-rehearsal',
    title: `ImageNet-LT rehearsal (${o.classes} classes, scale ${o.scale}; synthetic images)`,
    numClasses: o.classes,
    classOrder: 'the ImageNet-LT labels they stand for, ascending',
    construction: `${o.classes} of ImageNet-LT's classes picked per group (head/middle/tail ${perGroup.join('/')}), counts × ${o.scale}`,
    imagesFrom: 'synthetic (lt-bench data make rehearsal)',
    groupThresholds: thresholds,
    groups: s.groups,
    splits: {
      train: { file: source.splits.train.file, lines: s.total, perClass: 'classCounts', pathPrefix: 'train/' },
      val: { file: source.splits.val.file, lines: valPer * o.classes, perClass: valPer, pathPrefix: 'train/' },
      test: { file: source.splits.test.file, lines: testPer * o.classes, perClass: testPer, pathPrefix: 'val/' },
    },
    balancedTwin: { perClass: balancedPer, lines: balancedPer * o.classes, rule: source.balancedTwin?.rule ?? 'BalFeat gen_100k', confirmed: true },
    normalization: source.normalization,
    maxCount: s.max,
    minCount: s.min,
    total: s.total,
    provenance: { classCounts: `ImageNet-LT manifest counts of labels ${picked.map((p) => p.label).join(', ')}, × ${o.scale}` },
    classCounts,
  };
  checkManifest(manifest);
  return { manifest, sourceLabels: picked.map((p) => p.label) };
}

/** A WordNet-id-shaped folder name that sorts in label order (label 0 first, as ImageNet's). */
function wnid(sourceLabel: number): string {
  return `n${String(sourceLabel).padStart(8, '0')}`;
}

/** A tiny RGB JPEG: the class's colour and stripe direction, per-image offsets and noise. */
async function syntheticJpeg(rng: Rng, classIndex: number, numClasses: number): Promise<Buffer> {
  const width = 16 + rng.int(9);
  const height = 16 + rng.int(9);
  const hue = (classIndex / numClasses) * 2 * Math.PI;
  // Neighbouring classes overlap (a per-image colour shift and pixel noise), so the task is not trivial.
  const base = [0, 1, 2].map((k) => 128 + 45 * Math.cos(hue + (k * 2 * Math.PI) / 3) + rng.normal() * 20);
  const angle = (classIndex * Math.PI) / numClasses + rng.normal() * 0.3;
  const period = 4 + (classIndex % 3) * 2;
  const phase = rng.next() * period;
  const px = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const stripe = Math.cos((2 * Math.PI * (x * Math.cos(angle) + y * Math.sin(angle) + phase)) / period) * 30;
      for (let k = 0; k < 3; k++) px[(y * width + x) * 3 + k] = Math.max(0, Math.min(255, Math.round(base[k] + stripe + rng.normal() * 30)));
    }
  const sharp = await loadSharp();
  return sharp(px, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Reads `<dir>/rehearsal.json`, or null when the folder has none. */
export function readRehearsalDataset(dir: string): RehearsalDatasetInfo | null {
  const file = path.join(dir, REHEARSAL_INFO_FILE);
  if (!existsSync(file)) return null;
  let info: RehearsalDatasetInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as RehearsalDatasetInfo;
  } catch (e) {
    throw new DataError(`${file}: not valid JSON (${(e as Error).message}); delete the folder and run again`, file);
  }
  if (info.format !== FORMAT || !info.manifest?.classCounts) throw new DataError(`${file}: not an lt-bench rehearsal dataset (format ${JSON.stringify(info.format)})`, file);
  return info;
}

function sameOptions(a: Required<RehearsalDatasetOptions>, b: Required<RehearsalDatasetOptions>): boolean {
  return a.classes === b.classes && a.scale === b.scale && a.seed === b.seed;
}

/**
 * Writes the rehearsal dataset into `dir` (created; it must not exist or be empty), or reuses
 * the one already there when it was made with the same options and generator version. Written
 * into a temporary sibling and renamed into place, so an interrupted run never leaves half a
 * dataset behind. A folder holding anything else is an error (exit 3), never overwritten.
 */
export async function ensureRehearsalDataset(dir: string, opts: RehearsalDatasetOptions = {}): Promise<{ info: RehearsalDatasetInfo; root: string; created: boolean }> {
  const o = resolveOptions(opts);
  const root = path.resolve(dir);
  const existing = readRehearsalDataset(root);
  if (existing) {
    if (existing.version === REHEARSAL_DATASET_VERSION && sameOptions(existing.options, o)) return { info: existing, root, created: false };
    throw new DataError(
      `${path.join(root, REHEARSAL_INFO_FILE)}: a rehearsal dataset made with other settings (${JSON.stringify(existing.options)}, version ${existing.version}; wanted ${JSON.stringify(o)}, version ${REHEARSAL_DATASET_VERSION}); delete the folder or choose another`,
      root,
    );
  }
  if (existsSync(root) && readdirSync(root).length > 0) throw new DataError(`${root}: exists and is not a rehearsal dataset (no ${REHEARSAL_INFO_FILE}); give an empty or new folder`, root);

  const { manifest, sourceLabels } = rehearsalManifest(loadManifest('imagenet-lt'), o);
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    const rng = new Rng(o.seed);
    const C = manifest.numClasses;
    const counts = manifest.classCounts!;
    const valPer = manifest.splits.val.perClass as number;
    const testPer = manifest.splits.test.perClass as number;
    const balancedPer = manifest.balancedTwin!.perClass;
    const imageRng = rng.fork('images');
    const jobs: Array<{ file: string; c: number; rng: Rng }> = [];
    let valId = 1;
    for (let c = 0; c < C; c++) {
      const id = wnid(sourceLabels[c]);
      // The "ImageNet train" pool must hold the LT images, the val images and the balanced twin's top-ups.
      const pool = Math.max(counts[c], balancedPer) + valPer;
      for (let i = 0; i < pool; i++) jobs.push({ file: path.join(tmp, 'train', id, `${id}_${i + 1}.JPEG`), c, rng: imageRng.fork(`train/${c}/${i}`) });
      for (let i = 0; i < testPer; i++) jobs.push({ file: path.join(tmp, 'val', id, `ILSVRC2012_val_${String(valId++).padStart(8, '0')}.JPEG`), c, rng: imageRng.fork(`val/${c}/${i}`) });
    }
    const dirs = new Set(jobs.map((j) => path.dirname(j.file)));
    for (const d of dirs) await mkdir(d, { recursive: true });
    // A few encodes in flight at a time: sharp runs them on libuv's pool.
    for (let i = 0; i < jobs.length; i += 16) {
      await Promise.all(jobs.slice(i, i + 16).map(async (j) => writeFile(j.file, await syntheticJpeg(j.rng, j.c, C))));
    }
    // The lists, exactly as `lt-bench data make imagenet-lt` samples them from an ImageNet tree.
    const lists = await makeImageNetLt({ imagenetRoot: tmp, seed: o.seed, manifest, valPerClass: valPer, balancedPerClass: balancedPer });
    await writeLongTailLists(tmp, 'ImageNet_LT', lists);
    const info: RehearsalDatasetInfo = {
      format: FORMAT,
      version: REHEARSAL_DATASET_VERSION,
      options: o,
      sourceLabels,
      manifest,
      lists: { train: 'ImageNet_LT_train.txt', val: 'ImageNet_LT_val.txt', test: 'ImageNet_LT_test.txt', balancedTrain: 'ImageNet_LT_balanced_train.txt' },
    };
    writeJsonAtomic(path.join(tmp, REHEARSAL_INFO_FILE), info);
    await mkdir(path.dirname(root), { recursive: true });
    try {
      renameSync(tmp, root); // replaces an empty folder; fails if another process filled it first
    } catch (e) {
      const other = readRehearsalDataset(root);
      if (other && other.version === REHEARSAL_DATASET_VERSION && sameOptions(other.options, o)) return { info: other, root, created: false };
      throw new DataError(`${root}: cannot move the generated dataset into place (${(e as Error).message})`, root);
    }
    return { info, root, created: true };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
