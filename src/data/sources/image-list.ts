/**
 * Image-list datasets (ImageNet-LT, Places-LT, iNaturalist 2018): text lists of
 * `<relative path> <label>` lines (the OLTR / Decoupling / survey format, e.g.
 * `train/n01440764/n01440764_762.JPEG 0`) plus a root folder the paths are relative to.
 * Images are decoded on demand by the worker-thread pipeline (image-pipeline.ts), with
 * batches prefetched ahead of the trainer.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../../errors.js';
import { gitBlobId } from '../manifests.js';
import {
  ImageWorkerPool,
  processChunk,
  resolveTransform,
  type ImageJob,
  type Mode,
  type TransformOptions,
  libuvPoolSize,
} from '../image-pipeline.js';

export interface ImageListEntry {
  /** Path relative to the dataset root, as written in the list. */
  path: string;
  label: number;
  /** 1-based line number in the list file. */
  line: number;
}

export interface ListProblem {
  line: number;
  text: string;
  reason: string;
}

export interface ImageList {
  file: string;
  entries: ImageListEntry[];
  /** Lines that could not be parsed (empty when read strictly: those throw). */
  problems: ListProblem[];
  /** SHA-256 of the file's bytes, for the run record. */
  sha256: string;
  /** git blob id of the file (to compare with the official lists' known prefixes). */
  gitBlob: string;
}

/** Parses list text; a path may contain spaces (the label is the last field). */
export function parseImageList(text: string): { entries: ImageListEntry[]; problems: ListProblem[] } {
  const entries: ImageListEntry[] = [];
  const problems: ListProblem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].replace(/\r$/, '');
    const t = raw.trim();
    if (t === '') continue;
    const m = /^(.*\S)\s+(\S+)$/.exec(t);
    if (!m) {
      problems.push({ line: i + 1, text: raw, reason: 'expected "<relative path> <label>"' });
      continue;
    }
    const label = Number(m[2]);
    if (!/^\d+$/.test(m[2]) || !Number.isSafeInteger(label)) {
      problems.push({ line: i + 1, text: raw, reason: `label "${m[2]}" is not a non-negative integer` });
      continue;
    }
    entries.push({ path: m[1], label, line: i + 1 });
  }
  return { entries, problems };
}

/** A list from its file's bytes. `strict` (default) throws on the first malformed line, naming file and line. */
export function imageListFromBytes(file: string, buf: Buffer, opts: { strict?: boolean } = {}): ImageList {
  const { entries, problems } = parseImageList(buf.toString('utf8'));
  if ((opts.strict ?? true) && problems.length > 0) {
    const p = problems[0];
    throw new DataError(`${file}:${p.line}: ${p.reason}: "${p.text}" (${problems.length} bad line${problems.length > 1 ? 's' : ''} in all)`, file);
  }
  return {
    file,
    entries,
    problems,
    sha256: createHash('sha256').update(buf).digest('hex'),
    gitBlob: gitBlobId(buf),
  };
}

/** Reads a list file. `strict` (default) throws on the first malformed line, naming file and line. */
export async function readImageList(file: string, opts: { strict?: boolean } = {}): Promise<ImageList> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    throw new DataError(`cannot read image list ${file}: ${(e as Error).message}`, file);
  }
  return imageListFromBytes(file, buf, opts);
}

/**
 * Whether a list path, normalised, leaves the root: absolute, or `..` past its top. Lexical on
 * purpose: a symlink inside the root (ImageNet's train/ linked to another disk) is the usual
 * layout and stays allowed; what a list names is confined, not where the root's links point.
 */
export function escapesRoot(p: string): boolean {
  if (path.isAbsolute(p)) return true;
  if (!p.includes('..')) return false; // the common case, without normalising
  const first = path.normalize(p).split(path.sep)[0];
  return first === '..';
}

/** List entries whose paths leave the root (see escapesRoot). */
export function escapingEntries(entries: ImageListEntry[]): ImageListEntry[] {
  return entries.filter((e) => escapesRoot(e.path));
}

/**
 * Refuses a list with a path that leaves `root` (DataError naming the file, line and path). Runs
 * once per list before any image is read: every image path the pipeline opens comes from a list.
 */
export function assertInsideRoot(list: { file: string; entries: ImageListEntry[] }, root: string): void {
  const bad = escapingEntries(list.entries);
  if (bad.length === 0) return;
  const e = bad[0];
  throw new DataError(
    `${list.file}:${e.line}: image path "${e.path}" leaves the image root ${root} (list paths must be relative to the root, without ".." above it)` +
      (bad.length > 1 ? `; ${bad.length} such lines in all` : ''),
    list.file,
  );
}

/** Writes entries in the list format (one `path label` per line, trailing newline). */
export function formatImageList(entries: Array<{ path: string; label: number }>): string {
  return entries.map((e) => `${e.path} ${e.label}\n`).join('');
}

/** Images per label; labels outside 0..numClasses−1 are not counted. */
export function labelCounts(entries: Array<{ label: number }>, numClasses: number): number[] {
  const c = new Array<number>(numClasses).fill(0);
  for (const e of entries) if (e.label >= 0 && e.label < numClasses) c[e.label]++;
  return c;
}

export class BadImageError extends Error {
  constructor(
    readonly file: string,
    reason: string,
  ) {
    super(`cannot decode image ${file}: ${reason}`);
    this.name = 'BadImageError';
  }
}

export interface ImageBatch {
  /** NHWC float32, normalised, `n` images of size × size × 3. */
  x: Float32Array;
  y: Int32Array;
  n: number;
  size: number;
  /** Files skipped in this batch (only with badImages: 'skip'). */
  skipped: string[];
}

export interface ImageListSourceOptions {
  root: string;
  numClasses: number;
  /**
   * Lists per split: file paths, or lists already read (a run reads them once, to plan its split).
   * val is optional (CIFAR-style runs tune on test); train is optional for evaluation only.
   */
  lists: { train?: string | ImageList; val?: string | ImageList; test: string | ImageList };
  transform?: Partial<TransformOptions>;
  /** Worker threads (0 decodes on the calling thread, for tests). */
  workers?: number;
  /** Batches decoded ahead of the consumer (default 2). */
  prefetch?: number;
  /** 'error' (default): a bad image stops with its file name; 'skip': counted and left out. */
  badImages?: 'error' | 'skip';
}

export interface PipelineStats {
  /** Decoding worker threads (0: on the calling thread) and libuv's pool, which bounds the decodes in flight. */
  workers: number;
  libuvPool: number;
  images: number;
  skipped: number;
  skippedFiles: string[];
  /** Wall time spent with at least one batch in flight. */
  seconds: number;
  imagesPerSecond: number;
}

export type SplitKey = 'train' | 'val' | 'test';

export class ImageListSource {
  readonly transform: TransformOptions;
  private pool: ImageWorkerPool | null;
  private imagesDone = 0;
  private busySeconds = 0;
  private busySince = 0;
  private active = 0;
  private readonly skippedFiles: string[] = [];

  private constructor(
    readonly root: string,
    readonly numClasses: number,
    readonly lists: Partial<Record<SplitKey, ImageList>>,
    private readonly opts: ImageListSourceOptions,
  ) {
    this.transform = resolveTransform(opts.transform);
    this.pool = (opts.workers ?? 1) > 0 ? new ImageWorkerPool(opts.workers) : null;
  }

  static async open(opts: ImageListSourceOptions): Promise<ImageListSource> {
    const lists: Partial<Record<SplitKey, ImageList>> = {};
    for (const k of ['train', 'val', 'test'] as const) {
      const f = opts.lists[k];
      if (!f) continue;
      const list = typeof f === 'string' ? await readImageList(f) : f;
      const bad = list.entries.find((e) => e.label >= opts.numClasses);
      if (bad) throw new DataError(`${list.file}:${bad.line}: label ${bad.label} is outside 0..${opts.numClasses - 1}`, list.file);
      assertInsideRoot(list, opts.root);
      lists[k] = list;
    }
    return new ImageListSource(opts.root, opts.numClasses, lists, opts);
  }

  entries(split: SplitKey): ImageListEntry[] {
    const l = this.lists[split];
    if (!l) throw new Error(`no ${split} list was given`);
    return l.entries;
  }

  labels(split: SplitKey): Int32Array {
    return Int32Array.from(this.entries(split), (e) => e.label);
  }

  /** The lists read and their SHA-256, for the run record. */
  files(): Array<{ path: string; sha256: string }> {
    return Object.values(this.lists).map((l) => ({ path: l!.file, sha256: l!.sha256 }));
  }

  /**
   * Batches of `split` in `order` (indices into its list; e.g. a sampler's epoch order), with
   * `prefetch` batches decoding ahead. Train mode augments; the seed of image i of the epoch is
   * derived from (seed, epoch, i), so results do not depend on timing or worker count.
   * `skip` starts at that batch (a run resumed mid-epoch) with the seeds it would have had.
   */
  async *batches(
    split: SplitKey,
    order: Int32Array,
    batchSize: number,
    opts: { mode?: Mode; seed?: number; epoch?: number; prefetch?: number; skip?: number; preset?: 'basic' | 'mocov2' } = {},
  ): AsyncGenerator<ImageBatch> {
    const entries = this.entries(split);
    const mode = opts.mode ?? (split === 'train' ? 'train' : 'test');
    const base = imageSeedBase(opts.seed ?? 0, opts.epoch ?? 0);
    const depth = Math.max(1, opts.prefetch ?? this.opts.prefetch ?? 2);
    const count = Math.ceil(order.length / batchSize);
    const inFlight: Array<Promise<ImageBatch>> = [];
    const first = Math.min(count, Math.max(0, opts.skip ?? 0));
    let issued = first;
    const issue = () => {
      const b = issued++;
      const idx = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
      const jobs: ImageJob[] = Array.from(idx, (k, i) => ({
        file: path.join(this.root, entries[k].path),
        seed: (base ^ Math.imul(b * batchSize + i + 1, 0x85ebca6b)) >>> 0,
      }));
      const p = this.decode(mode, jobs, Int32Array.from(idx, (k) => entries[k].label), opts.preset);
      // A prefetched batch the consumer never reaches (it stopped early) must not be an unhandled rejection.
      p.catch(() => {});
      inFlight.push(p);
    };
    while (issued < Math.min(first + depth, count)) issue();
    for (let b = first; b < count; b++) {
      const batch = await inFlight.shift()!;
      if (issued < count) issue();
      yield batch;
    }
  }

  private async decode(mode: Mode, jobs: ImageJob[], labels: Int32Array, preset?: 'basic' | 'mocov2'): Promise<ImageBatch> {
    // Busy time counts wall time with at least one batch in flight (overlapping batches once).
    if (this.active++ === 0) this.busySince = performance.now();
    let r;
    try {
      r = this.pool
        ? await this.pool.runSplit(mode, this.transform, jobs, preset)
        : await processChunk({ id: 0, mode, transform: this.transform, jobs, preset });
    } finally {
      if (--this.active === 0) this.busySeconds += (performance.now() - this.busySince) / 1000;
    }
    if (r.errors.length > 0 && (this.opts.badImages ?? 'error') === 'error') {
      throw new BadImageError(r.errors[0].file, r.errors[0].message);
    }
    const y = Int32Array.from(labels.filter((_, i) => r.ok[i]));
    const skipped = r.errors.map((e) => e.file);
    this.skippedFiles.push(...skipped);
    this.imagesDone += y.length;
    return { x: r.pixels, y, n: y.length, size: this.transform.size, skipped };
  }

  /** Images decoded so far and the pipeline's images/s (for the run record). */
  stats(): PipelineStats {
    return {
      workers: this.pool?.size ?? 0,
      libuvPool: libuvPoolSize(),
      images: this.imagesDone,
      skipped: this.skippedFiles.length,
      skippedFiles: this.skippedFiles.slice(0, 100),
      seconds: this.busySeconds,
      imagesPerSecond: this.busySeconds > 0 ? this.imagesDone / this.busySeconds : 0,
    };
  }

  async close(): Promise<void> {
    // Idle workers are unref'd, so awaiting their termination alone may let the process exit
    // mid-await (exit code 13); a timer keeps the event loop alive until they have stopped.
    const keepAlive = setInterval(() => {}, 1000);
    try {
      await this.pool?.close();
    } finally {
      clearInterval(keepAlive);
    }
    this.pool = null;
  }
}

function imageSeedBase(seed: number, epoch: number): number {
  let h = (seed >>> 0) ^ 0x9e3779b9;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (epoch + 1), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
