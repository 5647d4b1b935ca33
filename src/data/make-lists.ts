/**
 * Making long-tailed list splits from full datasets (`lt-bench data make ...`):
 *
 * - ImageNet-LT for users with ImageNet-2012 but without the official lists: the manifest's exact
 *   per-class counts, seeded; val 20/class from the remaining train images; test = the full
 *   ImageNet val set (val/<wnid>/...), as the official lists.
 * - The balanced twin used for UA/RA, following bingykang/BalFeat `data/gen_data.py::gen_100k`
 *   (ImageNet-LT0, 115/class): a class with ≥ 115 LT images keeps a random 115 of them; a class
 *   with fewer keeps all of them and is topped up with other train images, never with LT val
 *   images. BalFeat uses Python's `random.seed(2020)`; here lt-bench's seeded Rng.
 * - A Pareto (α = 6) long-tailed split of any class-folder dataset.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Rng } from '../rng.js';
import { loadManifest, type DatasetManifest } from './manifests.js';
import { paretoProfile } from './profiles.js';
import { scanClassFolder } from './sources/class-folder.js';
import { formatImageList, type ImageListEntry } from './sources/image-list.js';

export interface ListEntry {
  path: string;
  label: number;
}

export interface LongTailLists {
  classes: string[];
  train: ListEntry[];
  val: ListEntry[];
  test: ListEntry[];
  /** The balanced twin of `train` (same classes, perClass images each). */
  balanced: ListEntry[];
  /** Train images per class. */
  counts: number[];
}

function groupByClass<T extends ListEntry>(entries: T[], numClasses: number): T[][] {
  const out: T[][] = Array.from({ length: numClasses }, () => []);
  for (const e of entries) {
    if (e.label < 0 || e.label >= numClasses) throw new Error(`label ${e.label} of ${e.path} outside 0..${numClasses - 1}`);
    out[e.label].push(e);
  }
  return out;
}

/** Per class: a seeded shuffle of its pool; train = the first counts[c], val = the next valPerClass. */
export function sampleLongTail(
  pool: ListEntry[],
  counts: number[],
  opts: { valPerClass: number; rng: Rng },
): { train: ListEntry[]; val: ListEntry[] } {
  const byClass = groupByClass(pool, counts.length);
  const train: ListEntry[] = [];
  const val: ListEntry[] = [];
  byClass.forEach((imgs, c) => {
    const need = counts[c] + opts.valPerClass;
    if (imgs.length < need)
      throw new Error(`class ${c} has ${imgs.length} train images; the split needs ${counts[c]} train + ${opts.valPerClass} val`);
    const order = opts.rng.shuffle(imgs.slice());
    train.push(...order.slice(0, counts[c]));
    val.push(...order.slice(counts[c], need));
  });
  return { train, val };
}

/**
 * The balanced twin (BalFeat gen_100k): perClass images per class, LT train images first, topped
 * up from `pool` minus the LT train images minus `exclude` (the LT val images, and test).
 */
export function balancedTwin(opts: {
  ltTrain: ListEntry[];
  pool: ListEntry[];
  exclude: ListEntry[];
  numClasses: number;
  perClass: number;
  rng: Rng;
}): ListEntry[] {
  const lt = groupByClass(opts.ltTrain, opts.numClasses);
  const taken = new Set(opts.ltTrain.map((e) => e.path));
  const banned = new Set(opts.exclude.map((e) => e.path));
  const extra = groupByClass(
    opts.pool.filter((e) => !taken.has(e.path) && !banned.has(e.path)),
    opts.numClasses,
  );
  const out: ListEntry[] = [];
  for (let c = 0; c < opts.numClasses; c++) {
    if (lt[c].length >= opts.perClass) {
      out.push(...opts.rng.shuffle(lt[c].slice()).slice(0, opts.perClass));
    } else {
      const need = opts.perClass - lt[c].length;
      if (extra[c].length < need)
        throw new Error(
          `balanced twin: class ${c} has ${lt[c].length} LT images and only ${extra[c].length} others outside LT val/test; needs ${opts.perClass}`,
        );
      out.push(...lt[c], ...opts.rng.shuffle(extra[c].slice()).slice(0, need));
    }
  }
  return out;
}

export interface MakeImageNetLtOptions {
  /** ImageNet-2012 root holding train/<wnid>/*.JPEG and val/<wnid>/*.JPEG. */
  imagenetRoot: string;
  seed: number;
  /** Default: the ImageNet-LT manifest (its per-class counts). */
  manifest?: DatasetManifest;
  valPerClass?: number;
  balancedPerClass?: number;
}

/** `lt-bench data make imagenet-lt`: the lists, with the manifest's exact counts. */
export async function makeImageNetLt(opts: MakeImageNetLtOptions): Promise<LongTailLists> {
  const m = opts.manifest ?? loadManifest('imagenet-lt');
  if (!m.classCounts) throw new Error(`manifest ${m.name} has no per-class counts to sample`);
  const trainIdx = await scanClassFolder(path.join(opts.imagenetRoot, 'train'), { prefix: 'train/' });
  if (trainIdx.classes.length !== m.numClasses)
    throw new Error(`${path.join(opts.imagenetRoot, 'train')} has ${trainIdx.classes.length} class folders; ${m.name} has ${m.numClasses} classes`);
  const valIdx = await scanClassFolder(path.join(opts.imagenetRoot, 'val'), { prefix: 'val/', classes: trainIdx.classes });
  const rng = new Rng(opts.seed);
  const valPerClass = opts.valPerClass ?? (typeof m.splits.val.perClass === 'number' ? m.splits.val.perClass : 20);
  const { train, val } = sampleLongTail(strip(trainIdx.entries), m.classCounts, { valPerClass, rng: rng.fork('lt') });
  const test = strip(valIdx.entries);
  const balanced = balancedTwin({
    ltTrain: train,
    pool: strip(trainIdx.entries),
    exclude: val,
    numClasses: m.numClasses,
    perClass: opts.balancedPerClass ?? m.balancedTwin?.perClass ?? 115,
    rng: rng.fork('balanced'),
  });
  return { classes: trainIdx.classes, train, val, test, balanced, counts: m.classCounts.slice() };
}

export interface MakeClassFolderOptions {
  /** root/<class>/<image>. */
  root: string;
  seed: number;
  /** Pareto power (6). */
  alpha?: number;
  /** Largest class (default: the largest class's images left after test and val). */
  max?: number;
  /** Smallest class (5). */
  min?: number;
  valPerClass?: number;
  testPerClass?: number;
  /** Balanced twin per class (default: the LT train size / classes, rounded). */
  balancedPerClass?: number;
}

/** A Pareto long-tailed split of a class-folder dataset: balanced test and val held out first. */
export async function makeClassFolderLongTail(opts: MakeClassFolderOptions): Promise<LongTailLists> {
  const idx = await scanClassFolder(opts.root);
  const C = idx.classes.length;
  const rng = new Rng(opts.seed);
  const valPer = opts.valPerClass ?? 20;
  const testPer = opts.testPerClass ?? 50;
  const byClass = groupByClass(strip(idx.entries), C);
  const test: ListEntry[] = [];
  const rest: ListEntry[] = [];
  const heldRng = rng.fork('test');
  byClass.forEach((imgs, c) => {
    if (imgs.length < testPer + valPer + 1)
      throw new Error(`${path.join(opts.root, idx.classes[c])}: ${imgs.length} images; needs ${testPer} test + ${valPer} val + at least 1 train`);
    const order = heldRng.shuffle(imgs.slice());
    test.push(...order.slice(0, testPer));
    rest.push(...order.slice(testPer));
  });
  const available = byClass.map((imgs) => imgs.length - testPer - valPer);
  const counts = paretoProfile({
    numClasses: C,
    max: opts.max ?? Math.max(...available),
    min: Math.min(opts.min ?? 5, Math.min(...available)),
    alpha: opts.alpha ?? 6,
    rng: rng.fork('profile'),
    available,
  });
  const { train, val } = sampleLongTail(rest, counts, { valPerClass: valPer, rng: rng.fork('lt') });
  const balanced = balancedTwin({
    ltTrain: train,
    pool: rest,
    exclude: val,
    numClasses: C,
    perClass: opts.balancedPerClass ?? Math.max(1, Math.round(train.length / C)),
    rng: rng.fork('balanced'),
  });
  return { classes: idx.classes, train, val, test, balanced, counts };
}

/** Writes `<prefix>_{train,val,test,balanced_train}.txt` and `classes.txt`; returns the paths. */
export async function writeLongTailLists(dir: string, prefix: string, lists: LongTailLists): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    train: path.join(dir, `${prefix}_train.txt`),
    val: path.join(dir, `${prefix}_val.txt`),
    test: path.join(dir, `${prefix}_test.txt`),
    balanced: path.join(dir, `${prefix}_balanced_train.txt`),
    classes: path.join(dir, 'classes.txt'),
  };
  await writeFile(files.train, formatImageList(lists.train));
  await writeFile(files.val, formatImageList(lists.val));
  await writeFile(files.test, formatImageList(lists.test));
  await writeFile(files.balanced, formatImageList(lists.balanced));
  await writeFile(files.classes, lists.classes.join('\n') + '\n');
  return files;
}

function strip(entries: ImageListEntry[]): ListEntry[] {
  return entries.map((e) => ({ path: e.path, label: e.label }));
}
