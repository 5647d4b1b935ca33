/**
 * `lt-bench data verify`: proves a user's split lists are the intended ones before GPU hours go
 * into them. Checks (each a named entry of the report; `ok` is false when any fails):
 * - parse: every line is `<relative path> <label>`;
 * - paths: no path leaves the root (absolute, or `..` above it); such images are never opened;
 * - labels: every label is in 0..numClasses−1;
 * - duplicates: no path appears twice within a list;
 * - overlap: no val / test image is also a train image (and the balanced twin avoids val/test);
 * - counts: line counts and per-class counts equal the manifest's (where it knows them);
 * - balanced: the balanced twin has the same number of images in every class;
 * - images: every image exists and its header (or, with `images: 'decode'`, its pixels) decodes.
 * The official lists are recognised by their git blob prefix (reported as information).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError, UsageError } from '../errors.js';
import { loadSharp } from '../sharp.js';
import { expectedCounts, type DatasetManifest, type SplitName } from './manifests.js';
import { escapesRoot, labelCounts, readImageList, type ImageList } from './sources/image-list.js';

export type ListKey = SplitName | 'balanced';

export interface VerifyOptions {
  numClasses: number;
  lists: Partial<Record<ListKey, string>>;
  /** Dataset root the list paths are relative to; needed for the image checks. */
  root?: string;
  manifest?: DatasetManifest;
  /** 'none', 'header' (exists + header decodes; default when root is given) or 'decode' (full decode). */
  images?: 'none' | 'header' | 'decode';
  /** Image checks in flight at once (default 16). */
  concurrency?: number;
  /** Examples kept per check (default 10). */
  maxExamples?: number;
  /** Called after each image check, for a progress bar. */
  onProgress?: (done: number, total: number) => void;
}

export interface VerifyCheck {
  name: 'parse' | 'paths' | 'labels' | 'duplicates' | 'overlap' | 'counts' | 'balanced' | 'images';
  ok: boolean;
  /** Problems found. */
  failures: number;
  message: string;
  examples: string[];
}

export interface VerifiedList {
  split: ListKey;
  file: string;
  lines: number;
  sha256: string;
  gitBlob: string;
  /** true / false when the manifest knows the official blob prefix; null otherwise. */
  matchesOfficial: boolean | null;
  counts: number[];
}

export interface VerifyReport {
  ok: boolean;
  lists: VerifiedList[];
  checks: VerifyCheck[];
}

export async function verifyLists(opts: VerifyOptions): Promise<VerifyReport> {
  const max = opts.maxExamples ?? 10;
  const C = opts.numClasses;
  const lists: Partial<Record<ListKey, ImageList>> = {};
  for (const [k, f] of Object.entries(opts.lists) as Array<[ListKey, string | undefined]>) {
    if (f) lists[k] = await readImageList(f, { strict: false });
  }
  const keys = Object.keys(lists) as ListKey[];
  const checks: VerifyCheck[] = [];
  const check = (name: VerifyCheck['name'], problems: string[], okMessage: string, badMessage: string) =>
    checks.push({
      name,
      ok: problems.length === 0,
      failures: problems.length,
      message: problems.length === 0 ? okMessage : `${problems.length} ${badMessage}`,
      examples: problems.slice(0, max),
    });

  // parse
  const parseProblems = keys.flatMap((k) => lists[k]!.problems.map((p) => `${lists[k]!.file}:${p.line}: ${p.reason}: "${p.text}"`));
  check('parse', parseProblems, 'every line is "<path> <label>"', 'malformed lines');

  // paths: lexical, so symlinks inside the root still work (see escapesRoot)
  const pathProblems = keys.flatMap((k) =>
    lists[k]!.entries.filter((e) => escapesRoot(e.path)).map((e) => `${lists[k]!.file}:${e.line}: ${e.path} leaves the image root${opts.root ? ` ${opts.root}` : ''}`),
  );
  check('paths', pathProblems, 'every path is relative to the root, without ".." above it', 'paths that leave the image root');

  // labels
  const labelProblems = keys.flatMap((k) =>
    lists[k]!.entries.filter((e) => e.label >= C).map((e) => `${lists[k]!.file}:${e.line}: label ${e.label} outside 0..${C - 1}`),
  );
  check('labels', labelProblems, `labels within 0..${C - 1}`, 'labels out of range');

  // duplicates within a list
  const dupProblems: string[] = [];
  for (const k of keys) {
    const first = new Map<string, number>();
    for (const e of lists[k]!.entries) {
      const prev = first.get(e.path);
      if (prev !== undefined) dupProblems.push(`${lists[k]!.file}:${e.line}: ${e.path} repeats line ${prev}`);
      else first.set(e.path, e.line);
    }
  }
  check('duplicates', dupProblems, 'no image listed twice in a list', 'duplicate lines');

  // overlap with train (and the balanced twin with val/test)
  const overlapProblems: string[] = [];
  const pathsOf = (k: ListKey) => new Set(lists[k]?.entries.map((e) => e.path) ?? []);
  const pairs: Array<[ListKey, ListKey]> = [
    ['val', 'train'],
    ['test', 'train'],
    ['test', 'val'],
    ['balanced', 'val'],
    ['balanced', 'test'],
  ];
  for (const [a, b] of pairs) {
    if (!lists[a] || !lists[b]) continue;
    const inB = pathsOf(b);
    for (const e of lists[a]!.entries)
      if (inB.has(e.path)) overlapProblems.push(`${lists[a]!.file}:${e.line}: ${e.path} is also in the ${b} list`);
  }
  check('overlap', overlapProblems, 'val, test and balanced lists are disjoint from the images they must not share', 'images shared between lists that must be disjoint');

  // counts vs manifest
  const verified: VerifiedList[] = keys.map((k) => {
    const l = lists[k]!;
    const prefix = k !== 'balanced' ? opts.manifest?.splits[k]?.gitBlobPrefix : undefined;
    return {
      split: k,
      file: l.file,
      lines: l.entries.length,
      sha256: l.sha256,
      gitBlob: l.gitBlob,
      matchesOfficial: prefix ? l.gitBlob.startsWith(prefix) : null,
      counts: labelCounts(l.entries, C),
    };
  });
  if (opts.manifest) {
    const m = opts.manifest;
    const countProblems: string[] = [];
    if (m.numClasses !== C) countProblems.push(`manifest ${m.name} has ${m.numClasses} classes, verifying with ${C}`);
    for (const v of verified) {
      if (v.split === 'balanced') continue;
      const sp = m.splits[v.split];
      if (v.lines !== sp.lines) countProblems.push(`${v.file}: ${v.lines} lines, ${m.name} ${v.split} has ${sp.lines}`);
      const exp = expectedCounts(m, v.split);
      if (!exp) continue;
      const diff = exp.flatMap((n, c) => (v.counts[c] !== n ? [`class ${c}: ${v.counts[c]} (expected ${n})`] : []));
      if (diff.length > 0)
        countProblems.push(`${v.file}: ${diff.length} classes differ from ${m.name} ${v.split}: ${diff.slice(0, 5).join(', ')}${diff.length > 5 ? ', ...' : ''}`);
    }
    check('counts', countProblems, `line and per-class counts equal ${m.name}'s`, 'count mismatches with the manifest');
  }

  // balanced twin
  const bal = verified.find((v) => v.split === 'balanced');
  if (bal) {
    const present = bal.counts;
    const target = opts.manifest?.balancedTwin?.perClass ?? Math.max(...present);
    const off = present.flatMap((n, c) => (n !== target ? [`class ${c}: ${n} (expected ${target})`] : []));
    check('balanced', off, `balanced: ${target} images in every class`, 'classes of the balanced list with another count');
  }

  // images
  const mode = opts.images ?? (opts.root ? 'header' : 'none');
  if (mode !== 'none') {
    if (!opts.root) throw new UsageError('verify: the image checks need the dataset root');
    // A wrong --root would report every image missing: say so once instead.
    const rootStat = await stat(opts.root).catch(() => null);
    if (!rootStat?.isDirectory())
      throw new DataError(`${opts.root}: ${rootStat ? 'not a folder' : 'no such folder'} (expected the image root the list paths are relative to)`, opts.root);
    const inside = (k: ListKey) => lists[k]!.entries.filter((e) => !escapesRoot(e.path));
    const all = [...new Map(keys.flatMap((k) => inside(k).map((e) => [e.path, `${lists[k]!.file}:${e.line}`] as const))).entries()];
    const problems: string[] = [];
    let done = 0;
    await runPool(all, opts.concurrency ?? 16, async ([rel, where]) => {
      const file = path.join(opts.root!, rel);
      const why = await imageProblem(file, mode);
      if (why) problems.push(`${where}: ${file}: ${why}`);
      opts.onProgress?.(++done, all.length);
    });
    problems.sort();
    check('images', problems, `${all.length} images present and readable (${mode} check)`, 'missing or unreadable images');
  }

  return { ok: checks.every((c) => c.ok), lists: verified, checks };
}

async function imageProblem(file: string, mode: 'header' | 'decode'): Promise<string | null> {
  try {
    const s = await stat(file);
    if (!s.isFile()) return 'not a file';
    if (s.size === 0) return 'empty file';
  } catch {
    return 'missing';
  }
  const sharp = await loadSharp();
  try {
    const img = sharp(file, { failOn: 'error' });
    const meta = await img.metadata();
    if (!meta.width || !meta.height) return 'no image size in the header';
    if (mode === 'decode') await img.raw().toBuffer();
    return null;
  } catch (e) {
    return `unreadable (${(e as Error).message.split('\n')[0]})`;
  }
}

async function runPool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(lanes);
}
