/**
 * Dataset manifests (`datasets/<name>/manifest.json`): what a long-tailed benchmark split is
 * known to contain — per-class train counts, group sizes, split line counts, the short git-blob
 * prefixes of the official lists — so a user's lists can be checked, and `data stats` can
 * answer from the manifest alone with no images present.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from '../errors.js';
import type { Group, GroupThresholds } from './types.js';

export type SplitName = 'train' | 'val' | 'test';

export interface ManifestSplit {
  /** The official list's file name. */
  file: string;
  lines: number;
  /** Images per class: a constant, or "classCounts" (the manifest's train counts). */
  perClass: number | 'classCounts';
  /** Every path of the official list starts with this (ImageNet-LT: train/ or val/). */
  pathPrefix?: string;
  /** Leading hex digits of the official file's git blob id (sha1 of "blob <size>\0" + content). */
  gitBlobPrefix?: string;
  note?: string;
}

export interface DatasetManifest {
  name: string;
  title: string;
  numClasses: number;
  classOrder?: string;
  construction?: string;
  imagesFrom?: string;
  groupThresholds: GroupThresholds;
  groups: { head: number; middle: number; tail: number } | null;
  splits: Record<SplitName, ManifestSplit>;
  balancedTwin?: { perClass: number; lines: number; rule: string; confirmed: boolean };
  normalization: { mean: number[]; std: number[] };
  maxCount: number;
  minCount: number;
  total: number;
  provenance: Record<string, string>;
  /** Train images per class, index = label; null where not known (iNaturalist 2018). */
  classCounts: number[] | null;
}

export const KNOWN_MANIFESTS = ['imagenet-lt', 'places-lt', 'inat2018'] as const;

/** The repository's `datasets/` folder (this file is at src/data or dist/src/data). */
export function datasetsDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'datasets');
    if (existsSync(path.join(candidate, 'imagenet-lt', 'manifest.json'))) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the datasets/ folder with the manifests (is the package installed completely?)');
}

/** Loads a manifest by dataset name (`imagenet-lt`, `places-lt`, `inat2018`) or by file path. */
export function loadManifest(nameOrPath: string): DatasetManifest {
  const file =
    nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes(path.sep)
      ? nameOrPath
      : path.join(datasetsDir(), nameOrPath, 'manifest.json');
  if (!existsSync(file))
    throw new DataError(`no manifest for "${nameOrPath}" (looked for ${file}); known: ${KNOWN_MANIFESTS.join(', ')}`, file);
  let m: DatasetManifest;
  try {
    m = JSON.parse(readFileSync(file, 'utf8')) as DatasetManifest;
  } catch (e) {
    throw new DataError(`manifest ${file}: ${(e as Error).message}`, file);
  }
  checkManifest(m, file);
  return m;
}

/** Internal consistency: counts add up to the stated total, max/min and groups agree. */
export function checkManifest(m: DatasetManifest, file = m.name): void {
  const fail = (msg: string) => {
    throw new DataError(`manifest ${file}: ${msg}`, file);
  };
  if (m.classCounts) {
    if (m.classCounts.length !== m.numClasses) fail(`classCounts has ${m.classCounts.length} entries, numClasses is ${m.numClasses}`);
    const s = countStats(m.classCounts, m.groupThresholds);
    if (s.total !== m.total) fail(`classCounts sum to ${s.total}, total says ${m.total}`);
    if (s.total !== m.splits.train.lines) fail(`classCounts sum to ${s.total}, train list has ${m.splits.train.lines} lines`);
    if (s.max !== m.maxCount || s.min !== m.minCount) fail(`classCounts max/min ${s.max}/${s.min}, stated ${m.maxCount}/${m.minCount}`);
    if (m.groups && (s.groups.head !== m.groups.head || s.groups.middle !== m.groups.middle || s.groups.tail !== m.groups.tail))
      fail(`groups from classCounts ${JSON.stringify(s.groups)} differ from ${JSON.stringify(m.groups)}`);
  }
  for (const name of ['train', 'val', 'test'] as const) {
    const sp = m.splits[name];
    if (!sp) fail(`missing splits.${name}`);
    if (typeof sp.perClass === 'number' && sp.perClass * m.numClasses !== sp.lines)
      fail(`splits.${name}: ${sp.perClass} per class x ${m.numClasses} classes != ${sp.lines} lines`);
  }
}

export function groupOf(count: number, t: GroupThresholds): Group {
  return count > t.head ? 'head' : count < t.tail ? 'tail' : 'middle';
}

export interface CountStats {
  numClasses: number;
  total: number;
  max: number;
  min: number;
  /** max / min over classes with at least one image. */
  imbalanceRatio: number;
  groups: { head: number; middle: number; tail: number };
  /** Group of every class. */
  classGroups: Group[];
  /** SHA-256 of the count vector written as JSON (e.g. "[1280,5,...]"). */
  checksum: string;
}

/** Per-class count statistics as `lt-bench data stats` prints them. */
export function countStats(counts: number[], thresholds: GroupThresholds = { head: 100, tail: 20 }): CountStats {
  const present = counts.filter((c) => c > 0);
  const classGroups = counts.map((c) => groupOf(c, thresholds));
  const groups = { head: 0, middle: 0, tail: 0 };
  for (const g of classGroups) groups[g]++;
  const max = counts.length ? Math.max(...counts) : 0;
  const min = counts.length ? Math.min(...counts) : 0;
  return {
    numClasses: counts.length,
    total: counts.reduce((a, b) => a + b, 0),
    max,
    min,
    imbalanceRatio: present.length ? Math.max(...present) / Math.min(...present) : NaN,
    groups,
    classGroups,
    checksum: createHash('sha256').update(JSON.stringify(counts)).digest('hex'),
  };
}

export interface ManifestStats {
  name: string;
  title: string;
  numClasses: number;
  /** perClass: images in every class, or null where it varies by class (train: see classCounts). */
  splits: Record<SplitName, { file: string; lines: number; perClass: number | null }>;
  /** Train images per class (index = label); null when the manifest does not know them (iNaturalist 2018). */
  classCounts: number[] | null;
  /** Null when the manifest does not know the per-class counts. */
  train: CountStats | null;
  /** Stated figures, for datasets whose counts are unknown. */
  stated: { total: number; max: number; min: number; imbalanceRatio: number };
}

/** `lt-bench data stats --dataset <name>` from the manifest alone. */
export function manifestStats(m: DatasetManifest): ManifestStats {
  const splits = Object.fromEntries(
    (['train', 'val', 'test'] as const).map((k) => {
      const perClass = m.splits[k].perClass;
      return [k, { file: m.splits[k].file, lines: m.splits[k].lines, perClass: typeof perClass === 'number' ? perClass : null }];
    }),
  ) as ManifestStats['splits'];
  return {
    name: m.name,
    title: m.title,
    numClasses: m.numClasses,
    splits,
    classCounts: m.classCounts ? m.classCounts.slice() : null,
    train: m.classCounts ? countStats(m.classCounts, m.groupThresholds) : null,
    stated: { total: m.total, max: m.maxCount, min: m.minCount, imbalanceRatio: m.maxCount / m.minCount },
  };
}

/** Expected images per class of a split, or null where the manifest does not know them. */
export function expectedCounts(m: DatasetManifest, split: SplitName): number[] | null {
  const sp = m.splits[split];
  if (sp.perClass === 'classCounts') return m.classCounts ? m.classCounts.slice() : null;
  return new Array(m.numClasses).fill(sp.perClass);
}

/** Git's blob id of a file's bytes: sha1("blob <size>\0" + content), as `git hash-object`. */
export function gitBlobId(content: Uint8Array): string {
  return createHash('sha1').update(`blob ${content.length}\0`).update(content).digest('hex');
}
