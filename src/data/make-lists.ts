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
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../results/atomic.js';
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
    if (e.label < 0 || e.label >= numClasses) throw new DataError(`label ${e.label} of ${e.path} outside 0..${numClasses - 1}`);
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
      throw new DataError(`class ${c} has ${imgs.length} train images; the split needs ${counts[c]} train + ${opts.valPerClass} val`);
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
        throw new DataError(
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
  if (!m.classCounts) throw new DataError(`manifest ${m.name} has no per-class counts to sample`);
  requireFolder(opts.imagenetRoot, 'the ImageNet-2012 root, holding train/<wnid>/*.JPEG and val/<wnid>/*.JPEG');
  const trainIdx = await scanClassFolder(path.join(opts.imagenetRoot, 'train'), { prefix: 'train/' });
  if (trainIdx.classes.length !== m.numClasses)
    throw new DataError(`${path.join(opts.imagenetRoot, 'train')} has ${trainIdx.classes.length} class folders; ${m.name} has ${m.numClasses} classes`);
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
  /** Val images held out per class (default 20, ImageNet-LT's). */
  valPerClass?: number;
  /** Test images held out per class (default 50, ImageNet-LT's). */
  testPerClass?: number;
  /** Balanced twin per class (default: the LT train size / classes, rounded). */
  balancedPerClass?: number;
}

/** Images held out per class by `data make class-folder` unless set (ImageNet-LT's 20 val, 50 test). */
export const CLASS_FOLDER_DEFAULTS = { valPerClass: 20, testPerClass: 50 } as const;

/** A Pareto long-tailed split of a class-folder dataset: balanced test and val held out first. */
export async function makeClassFolderLongTail(opts: MakeClassFolderOptions): Promise<LongTailLists> {
  const valPer = opts.valPerClass ?? CLASS_FOLDER_DEFAULTS.valPerClass;
  const testPer = opts.testPerClass ?? CLASS_FOLDER_DEFAULTS.testPerClass;
  if (!Number.isSafeInteger(testPer) || testPer < 1) throw new UsageError(`test per class: expected a whole number >= 1, got ${testPer}`);
  if (!Number.isSafeInteger(valPer) || valPer < 0) throw new UsageError(`val per class: expected a whole number >= 0, got ${valPer}`);
  requireFolder(opts.root, 'a class-folder dataset: <root>/<class>/<image>, one folder of images per class');
  const idx = await scanClassFolder(opts.root);
  const C = idx.classes.length;
  const rng = new Rng(opts.seed);
  const byClass = groupByClass(strip(idx.entries), C);
  // Every class must keep at least one train image after its test and val images are held out.
  const need = testPer + valPer + 1;
  const short = byClass.flatMap((imgs, c) => (imgs.length < need ? [c] : []));
  if (short.length > 0) {
    const c = short[0];
    const smallest = Math.min(...byClass.map((imgs) => imgs.length));
    throw new DataError(
      `${path.join(opts.root, idx.classes[c])}: ${byClass[c].length} images; each class needs ${testPer} test + ${valPer} val + at least 1 train = ${need}` +
        ` (${short.length} of ${C} classes have fewer; the smallest has ${smallest}). Hold out fewer with --test-per-class / --val-per-class`,
      path.join(opts.root, idx.classes[c]),
    );
  }
  const test: ListEntry[] = [];
  const rest: ListEntry[] = [];
  const heldRng = rng.fork('test');
  byClass.forEach((imgs) => {
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

/** The class names `data make` writes beside its lists (line k = the name of label k). */
export const CLASSES_FILE = 'classes.txt';

/** Writes `<prefix>_{train,val,test,balanced_train}.txt` and `classes.txt` (each atomically); returns the paths. */
export async function writeLongTailLists(dir: string, prefix: string, lists: LongTailLists): Promise<Record<string, string>> {
  const existing = statSync(dir, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) throw new UsageError(`${dir}: not a folder (expected --out to name a folder for the lists)`);
  const files: Record<string, string> = {
    train: path.join(dir, `${prefix}_train.txt`),
    val: path.join(dir, `${prefix}_val.txt`),
    test: path.join(dir, `${prefix}_test.txt`),
    balanced: path.join(dir, `${prefix}_balanced_train.txt`),
    classes: path.join(dir, CLASSES_FILE),
  };
  const content: Record<string, string> = {
    train: formatImageList(lists.train),
    val: formatImageList(lists.val),
    test: formatImageList(lists.test),
    balanced: formatImageList(lists.balanced),
    classes: lists.classes.join('\n') + '\n',
  };
  for (const k of Object.keys(files)) {
    try {
      writeFileAtomic(files[k], content[k]);
    } catch (e) {
      throw new UsageError(`${files[k]}: cannot write the list (${(e as Error).message.split('\n')[0]}); give --out a writable folder`);
    }
  }
  return files;
}

/** Class names from the `classes.txt` beside a list `data make` wrote, or null when there is none. */
export function classesBeside(listFile: string): { file: string; classes: string[] } | null {
  const file = path.join(path.dirname(listFile), CLASSES_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  return { file, classes: text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l !== '') };
}

/** A folder a make reads from must exist: one line naming it and what it should hold. */
function requireFolder(dir: string, expected: string): void {
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    throw new DataError(`${dir}: no such folder (expected ${expected})`, dir);
  }
  if (!isDir) throw new DataError(`${dir}: not a folder (expected ${expected})`, dir);
}

function strip(entries: ImageListEntry[]): ListEntry[] {
  return entries.map((e) => ({ path: e.path, label: e.label }));
}
