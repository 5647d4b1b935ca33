/**
 * BatchSource: what the trainer, evaluation and stage 2 read batches from, whatever holds the
 * images. An epoch is an async iterable of batches over an order of item ids, so a source may
 * decode ahead (the image lists prefetch through worker threads while the training step runs)
 * or make each batch on demand (the in-memory datasets).
 *
 * Batch b of an epoch covers order[b·batchSize, (b+1)·batchSize); `firstStep` starts at batch
 * firstStep (a run resumed mid-epoch) with the same random draws batch firstStep would have had.
 */
import { DataError } from '../errors.js';
import { Rng } from '../rng.js';
import { InMemoryBatches, type AugmentSpec, type Batch } from './batches.js';
import { BadImageError, type ImageListSource, type PipelineStats, type SplitKey } from './sources/image-list.js';
import type { ImageArray } from './types.js';

/** How a view is augmented: the source's own augmentation, or MoCo v2's (view-mocov2.ts). */
export type ViewPreset = 'basic' | 'mocov2';

export interface SourceBatch extends Batch {
  /** Files left out of this batch (image lists with badImages: skip). */
  skipped?: string[];
}

export interface EpochOptions {
  /** 'train' augments (when the source has an augmentation); 'test' never does. */
  mode: 'train' | 'test';
  /** Training seed and epoch: with the batch index they fix every random draw. */
  seed?: number;
  epoch?: number;
  /** First batch to produce (resume mid-epoch); default 0. */
  firstStep?: number;
  /** View preset in 'train' mode (default 'basic': the source's own augmentation). */
  preset?: ViewPreset;
}

export interface BatchSource {
  /** Label of every item (index = the item id used in orders). */
  readonly labels: Int32Array;
  /** Channels of every image (the model's input channels). */
  readonly channels: number;
  epoch(order: Int32Array, batchSize: number, opts: EpochOptions): AsyncIterable<SourceBatch>;
}

/** The training seed's named stream, as the trainer has always derived it. */
export function streamRng(seed: number, name: string): Rng {
  return new Rng(seed).fork(name);
}

/**
 * The in-memory datasets (Fashion-MNIST, CIFAR, synthetic). Batch `step` of `epoch` augments
 * with `streamRng(seed, 'augment:<epoch>:<step>')`: the exact stream the trainer used before this
 * abstraction, so earlier results stay bit-identical.
 */
export class InMemoryBatchSource implements BatchSource {
  readonly batches: InMemoryBatches;
  readonly labels: Int32Array;
  readonly channels: number;

  constructor(images: ImageArray, mean: number[], std: number[], readonly augment: AugmentSpec | null = null) {
    this.batches = new InMemoryBatches(images, mean, std);
    this.labels = images.labels;
    this.channels = images.channels;
  }

  async *epoch(order: Int32Array, batchSize: number, opts: EpochOptions): AsyncGenerator<SourceBatch> {
    const count = Math.ceil(order.length / batchSize);
    const augment = opts.mode === 'train' ? this.augment : null;
    if (opts.mode === 'train' && opts.preset === 'mocov2') {
      for (let b = opts.firstStep ?? 0; b < count; b++) {
        const idx = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
        yield this.batches.makeMocoV2(idx, streamRng(opts.seed ?? 0, `mocov2:${opts.epoch ?? 0}:${b}`));
      }
      return;
    }
    for (let b = opts.firstStep ?? 0; b < count; b++) {
      const idx = order.subarray(b * batchSize, Math.min(order.length, (b + 1) * batchSize));
      const rng = augment ? streamRng(opts.seed ?? 0, `augment:${opts.epoch ?? 0}:${b}`) : null;
      yield this.batches.make(idx, augment, rng);
    }
  }
}

/**
 * One split of an image-list dataset. Decoding runs in the source's worker pool with its
 * prefetch depth, so batch b+1.. decode while the consumer trains on batch b. A bad image is a
 * DataError naming the file (exit 3) unless the source skips bad images.
 */
export class ImageListBatchSource implements BatchSource {
  readonly labels: Int32Array;
  readonly channels = 3;

  constructor(readonly source: ImageListSource, readonly split: SplitKey) {
    this.labels = source.labels(split);
  }

  async *epoch(order: Int32Array, batchSize: number, opts: EpochOptions): AsyncGenerator<SourceBatch> {
    const it = this.source.batches(this.split, order, batchSize, { mode: opts.mode, seed: opts.seed ?? 0, epoch: opts.epoch ?? 0, skip: opts.firstStep ?? 0, preset: opts.preset });
    try {
      for (;;) {
        let r: IteratorResult<Awaited<ReturnType<typeof it.next>>['value']>;
        try {
          r = await it.next();
        } catch (e) {
          if (e instanceof BadImageError) {
            throw new DataError(`${e.message} (set dataset.badImages: skip to leave bad images out and count them)`, e.file);
          }
          throw e;
        }
        if (r.done) return;
        const b = r.value;
        yield { x: b.x, y: b.y, shape: [b.n, b.size, b.size, 3], skipped: b.skipped };
      }
    } finally {
      await it.return(undefined);
    }
  }

  stats(): PipelineStats {
    return this.source.stats();
  }
}
