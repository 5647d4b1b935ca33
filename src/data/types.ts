/**
 * The data contracts every source, split and sampler shares.
 *
 * Images are kept in memory as uint8 HWC pixels (the small datasets) or as file references
 * decoded on demand (the image-list datasets); either way the trainer only ever sees float32
 * NHWC batches produced by a BatchSource.
 */

/** An in-memory labelled image set: `count` images of `height × width × channels` uint8 pixels. */
export interface ImageArray {
  /** Row-major [count, height, width, channels] uint8 pixels. */
  pixels: Uint8Array;
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
}

/** What a dataset source yields: the raw train pool and the official balanced test set. */
export interface SourceData {
  name: string;
  numClasses: number;
  classNames?: string[];
  train: ImageArray;
  test: ImageArray;
  /** Files read and their SHA-256, for the run record. */
  files: Array<{ path: string; sha256: string }>;
  /** Per-channel normalisation (applied after scaling pixels to [0, 1]). */
  mean: number[];
  std: number[];
}

/** Which images (indices into SourceData.train / .test) make up each split. */
export interface SplitIndices {
  train: Int32Array;
  val: Int32Array;
  test: Int32Array;
}

/** Head / middle / tail group of each class, fixed by the LT train counts. */
export type Group = 'head' | 'middle' | 'tail';

export interface GroupThresholds {
  /** A class is head when its LT train count is > head. */
  head: number;
  /** A class is tail when its LT train count is < tail; middle otherwise. */
  tail: number;
}

/** A long-tailed split: train/val/test indices plus the facts derived from them. */
export interface LongTailSplit {
  indices: SplitIndices;
  /** Train images per class (index = class id). */
  classCounts: number[];
  /** Group of every class, computed from the LT counts (shared with the balanced twin). */
  groups: Group[];
  /** Train images per class of the LT split (a balanced twin: its long-tailed split's; else classCounts). */
  ltClassCounts?: number[];
  /** SHA-256 of the selected indices (train, val, test), for the run id and the record. */
  checksum: string;
  /** True when this is the balanced twin of an LT split. */
  balanced: boolean;
}
