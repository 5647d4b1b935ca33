/**
 * A recipe's data for one run: the split (indices, class counts, groups, checksum) and a
 * BatchSource per split, whatever the dataset's format.
 *
 * - In-memory datasets (Fashion-MNIST, CIFAR, synthetic): the split is built from a profile over
 *   the train pool (src/data/longtail.ts); item ids index SourceData.train / .test.
 * - Image-list datasets (ImageNet-LT, Places-LT, iNaturalist 2018, a generic image-list): the
 *   lists ARE the split. Item ids index each list; class counts come from the train list (the
 *   balanced twin's list when dataset.balanced), groups always from the LT train list's counts
 *   with the recipe's thresholds (the survey's >100 head, <20 tail by default).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';
import { sha256 } from '../recipe/hash.js';
import { isImageListDataset, type Recipe } from '../recipe/schema.js';
import { ImageListBatchSource, InMemoryBatchSource, type BatchSource } from './batch-source.js';
import { IMAGENET_MEAN, IMAGENET_STD, type TransformOptions } from './image-pipeline.js';
import { loadSource } from './load-source.js';
import { groupsFromCounts, makeLongTailSplit } from './longtail.js';
import { loadManifest, type DatasetManifest } from './manifests.js';
import { ImageListSource, imageListFromBytes, labelCounts, type ImageList, type PipelineStats } from './sources/image-list.js';
import type { LongTailSplit, SourceData } from './types.js';

export interface RunData {
  name: string;
  numClasses: number;
  classNames?: string[];
  /** Image channels (the model's input channels). */
  channels: number;
  /** Files read and their SHA-256 (for image lists: the lists the run used). */
  files: Array<{ path: string; sha256: string }>;
  split: LongTailSplit;
  sources: { train: BatchSource; val: BatchSource; test: BatchSource };
  /** Image lists: the decoding pipeline's counters (images/s, skipped files); null otherwise. */
  pipelineStats(): PipelineStats | null;
  /** Stops the decoding workers (a no-op for in-memory data). */
  close(): Promise<void>;
}

/** The images validation reads: the held-out train images, or the test set (CIFAR-LT practice). */
export function valImages(recipe: Recipe, source: SourceData): SourceData['train'] {
  return recipe.dataset.valSource === 'test' ? source.test : source.train;
}

/** The LT split of an in-memory dataset. */
export function splitFor(recipe: Recipe, source: SourceData): LongTailSplit {
  const ds = recipe.dataset;
  const split = makeLongTailSplit(source, {
    profile: ds.profile,
    imbalanceRatio: ds.imbalanceRatio,
    maxPerClass: ds.maxPerClass,
    splitSeed: ds.splitSeed,
    valPerClass: ds.valPerClass,
    balanced: ds.balanced,
    thresholds: recipe.eval.thresholds,
  });
  // valSource 'test': validation (best epoch, post-hoc tuning) reads the test images.
  return ds.valSource === 'test' ? { ...split, indices: { ...split.indices, val: split.indices.test } } : split;
}

// ---- image lists ---------------------------------------------------------------------------------

/** Where an image-list recipe's root and lists are (official file names under root by default). */
export interface ListLocations {
  root: string;
  numClasses: number;
  /** The LT train list (groups come from it). */
  train: string;
  /** The list training reads: the LT train list, or the balanced twin's when dataset.balanced. */
  trainRead: string;
  /** The list validation reads (the test list when valSource is 'test'). */
  val: string;
  test: string;
  manifest: DatasetManifest | null;
}

const BALANCED_DEFAULT: Record<string, string> = { 'imagenet-lt': 'ImageNet_LT_balanced_train.txt' };

export function listLocations(recipe: Recipe, dataRoot?: string): ListLocations {
  const ds = recipe.dataset;
  const root = dataRoot ?? ds.root ?? process.env.LT_BENCH_DATA;
  if (!root) throw new DataError(`${ds.name}: no image root; pass --data-root DIR, set dataset.root or LT_BENCH_DATA to the folder the list paths are relative to`);
  const manifest = ds.name === 'image-list' ? null : loadManifest(ds.name);
  const numClasses = ds.numClasses ?? manifest!.numClasses;
  const pick = (key: 'train' | 'val' | 'test' | 'balancedTrain'): string => {
    const given = ds.lists?.[key];
    const official = key === 'balancedTrain' ? BALANCED_DEFAULT[ds.name] : manifest?.splits[key].file;
    const file = given ?? (official ? path.join(root, official) : undefined);
    if (!file) throw new DataError(`${ds.name}: dataset.lists.${key}: no list given and no official file name to default to`);
    if (!existsSync(file)) {
      throw new DataError(`${file}: ${given ? '' : 'the default '}list for dataset.lists.${key} not found${given ? '' : ` (the official file name under root ${root}; set dataset.lists.${key})`}`, file);
    }
    return path.resolve(file);
  };
  const train = pick('train');
  const test = pick('test');
  return {
    root: path.resolve(root),
    numClasses,
    train,
    trainRead: ds.balanced ? pick('balancedTrain') : train,
    val: ds.valSource === 'test' ? test : pick('val'),
    test,
    manifest,
  };
}

/**
 * Lists already parsed, by file, with the stat of the version read. A run reads its lists to plan
 * (the run id needs the split) and again to open its data, and a sweep reads the same lists for
 * every recipe: one parse serves them all while the file is unchanged. A few lists at most.
 */
const parsedLists = new Map<string, { version: string; list: ImageList }>();
const PARSED_LISTS_KEPT = 8;

/** Reads a list synchronously (planning a run must not wait on the event loop), strictly. */
export function readListStrict(file: string, numClasses: number): ImageList {
  let list: ImageList;
  try {
    const st = statSync(file);
    const version = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = parsedLists.get(file);
    if (known?.version === version) list = known.list;
    else {
      list = imageListFromBytes(file, readFileSync(file));
      parsedLists.delete(file);
      parsedLists.set(file, { version, list });
      if (parsedLists.size > PARSED_LISTS_KEPT) parsedLists.delete(parsedLists.keys().next().value!);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError(`cannot read image list ${file}: ${(e as Error).message}`, file);
  }
  const bad = list.entries.find((e) => e.label >= numClasses);
  if (bad) throw new DataError(`${file}:${bad.line}: label ${bad.label} is outside 0..${numClasses - 1}`, file);
  if (list.entries.length === 0) throw new DataError(`${file}: the list is empty`, file);
  return list;
}

const iota = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

export interface ListSplit {
  split: LongTailSplit;
  locations: ListLocations;
  files: Array<{ path: string; sha256: string }>;
  /** The lists as read (the pipeline reuses them rather than parsing them again). */
  lists: { train: ImageList; val: ImageList; test: ImageList };
}

/** The split an image-list recipe trains on, from its lists alone (no image is read). */
export function listSplit(recipe: Recipe, dataRoot?: string): ListSplit {
  const loc = listLocations(recipe, dataRoot);
  const lt = readListStrict(loc.train, loc.numClasses);
  const trainRead = loc.trainRead === loc.train ? lt : readListStrict(loc.trainRead, loc.numClasses);
  const test = readListStrict(loc.test, loc.numClasses);
  const val = loc.val === loc.test ? test : readListStrict(loc.val, loc.numClasses);
  const ltCounts = labelCounts(lt.entries, loc.numClasses);
  const used = [...new Map([lt, trainRead, val, test].map((l) => [l.file, l])).values()];
  const split: LongTailSplit = {
    indices: { train: iota(trainRead.entries.length), val: iota(val.entries.length), test: iota(test.entries.length) },
    classCounts: labelCounts(trainRead.entries, loc.numClasses),
    groups: groupsFromCounts(ltCounts, recipe.eval.thresholds),
    ltClassCounts: ltCounts,
    // The lists' content (not where they are) identifies the split.
    checksum: sha256(`image-lists:train=${trainRead.sha256}:lt=${lt.sha256}:val=${val.sha256}:test=${test.sha256}`),
    balanced: recipe.dataset.balanced,
  };
  return { split, locations: loc, files: used.map((l) => ({ path: l.file, sha256: l.sha256 })), lists: { train: trainRead, val, test } };
}

/** The split of any recipe's dataset (reads in-memory sources, or only the lists). */
export function recipeSplit(recipe: Recipe, dataRoot?: string): LongTailSplit {
  return isImageListDataset(recipe.dataset.name) ? listSplit(recipe, dataRoot).split : splitFor(recipe, loadSource(recipe, dataRoot));
}

/** The test-time and training transforms of an image-list recipe. */
export function listTransform(recipe: Recipe, manifest: DatasetManifest | null): Partial<TransformOptions> {
  const t = recipe.dataset.transform ?? {};
  const { jitter, ...rest } = t;
  const defined = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as Partial<TransformOptions>;
  return {
    ...defined,
    ...(jitter ? { jitter: Object.fromEntries(Object.entries(jitter).filter(([, v]) => v !== undefined)) as TransformOptions['jitter'] } : {}),
    mean: t.mean ?? manifest?.normalization.mean ?? IMAGENET_MEAN,
    std: t.std ?? manifest?.normalization.std ?? IMAGENET_STD,
  };
}

/** Opens a recipe's data for training and evaluation. Call close() when done. */
export async function openRunData(recipe: Recipe, opts: { dataRoot?: string } = {}): Promise<RunData> {
  const ds = recipe.dataset;
  if (!isImageListDataset(ds.name)) {
    const source = loadSource(recipe, opts.dataRoot);
    const split = splitFor(recipe, source);
    const augment = ds.augment.padCrop > 0 || ds.augment.flip || ds.augment.randAugment ? ds.augment : null;
    return {
      name: source.name,
      numClasses: source.numClasses,
      classNames: source.classNames,
      channels: source.train.channels,
      files: source.files,
      split,
      sources: {
        train: new InMemoryBatchSource(source.train, source.mean, source.std, augment),
        val: new InMemoryBatchSource(valImages(recipe, source), source.mean, source.std),
        test: new InMemoryBatchSource(source.test, source.mean, source.std),
      },
      pipelineStats: () => null,
      close: async () => {},
    };
  }
  const { split, locations: loc, files, lists } = listSplit(recipe, opts.dataRoot);
  const source = await openListSource(recipe, loc.root, loc.numClasses, lists, loc.manifest);
  const val = new ImageListBatchSource(source, loc.val === loc.test ? 'test' : 'val');
  return {
    name: ds.name,
    numClasses: loc.numClasses,
    channels: 3,
    files,
    split,
    sources: { train: new ImageListBatchSource(source, 'train'), val, test: new ImageListBatchSource(source, 'test') },
    pipelineStats: () => source.stats(),
    close: () => source.close(),
  };
}

/**
 * An ImageListSource with the recipe's transform, workers, prefetch and badImages. Lists may be
 * files or lists already read; a path leaving `root` is refused here, before any image is read.
 */
export async function openListSource(
  recipe: Recipe,
  root: string,
  numClasses: number,
  lists: { train?: string | ImageList; val?: string | ImageList; test: string | ImageList },
  manifest: DatasetManifest | null,
): Promise<ImageListSource> {
  const ds = recipe.dataset;
  const fileOf = (l: string | ImageList) => (typeof l === 'string' ? l : l.file);
  try {
    return await ImageListSource.open({
      root,
      numClasses,
      lists: { train: lists.train, val: lists.val && fileOf(lists.val) !== fileOf(lists.test) ? lists.val : undefined, test: lists.test },
      transform: listTransform(recipe, manifest),
      workers: ds.workers,
      prefetch: ds.prefetch,
      badImages: ds.badImages ?? 'error',
    });
  } catch (e) {
    throw e instanceof DataError ? e : new DataError((e as Error).message);
  }
}
