/**
 * Training samplers: which train images an epoch visits, and in which order.
 *
 * Every sampler is a pure function of (its seed, the epoch number): `epochIndices(e, E)` returns
 * the same order whether the epochs are asked for in sequence or after a resume, so a run
 * restarted from a checkpoint sees the same images as an uninterrupted one.
 *
 * Names follow the recipes (`instance`, `class-balanced`, `square-root`, `progressive`,
 * `reversed`) with the survey's short aliases (IB, CB, SR, PB, RS).
 *
 * - instance (IB): every image once per epoch, shuffled.
 * - class-balanced (CB): the official ClassAwareSampler of OLTR / Decoupling
 *   (`classifier-balancing: data/ClassAwareSampler.py`, `num_samples_cls = 4`): a cyclic,
 *   reshuffled-after-each-pass list of classes; each visit yields the next 4 images of that
 *   class's own cyclic, reshuffled list; epoch length max_k n_k · C. The cyclic iterators keep
 *   their position across epochs as in the official code (the object lives for the whole run);
 *   asking for an epoch out of order replays from epoch 0 so the result stays a function of the
 *   epoch number.
 * - square-root (SR): class k with probability ∝ n_k^q (q = 1/2, Kang et al. 2020), then a
 *   uniform image of that class; N draws per epoch (with replacement).
 * - progressive (PB): class probability (1 − t/T)·n_k/N + (t/T)·1/C at epoch t of T (t from 0),
 *   then a uniform image of that class; N draws per epoch.
 * - reversed (RS, BBN's reversed sampler): w_k = n_max / n_k, class k with probability
 *   w_k / Σ w, then a uniform image of that class; N draws per epoch.
 *
 * Classes with no train images are never drawn (the official CB sampler only knows the labels
 * present).
 */
import { Rng } from '../rng.js';
import type { SamplerName } from '../methods/types.js';

export type SamplerAlias = 'IB' | 'CB' | 'SR' | 'PB' | 'RS';

export interface SamplerOptions {
  /** Label of every train image (index = image index in the split's train list). */
  labels: Int32Array;
  numClasses: number;
  /** Seeded source; the sampler draws one seed from it at construction. */
  rng: Rng;
  /** CB: images taken from a class per visit (official 4). */
  samplesPerClass?: number;
  /** SR: the exponent q of n_k^q (1/2 gives square-root sampling; 1 instance-like, 0 class-balanced). */
  power?: number;
  /** IB/SR/PB/RS: draws per epoch (default the number of train images). */
  epochLength?: number;
}

export interface Sampler {
  readonly name: SamplerName;
  /** Image indices for epoch `epoch` (0-based) of a stage of `epochs` epochs. */
  epochIndices(epoch: number, epochs: number): Int32Array;
}

/** The survey's short sampler names: the one alias map (recipes, tables and the CLI read it). */
export const SAMPLER_ALIASES: Readonly<Record<SamplerAlias, SamplerName>> = {
  IB: 'instance',
  CB: 'class-balanced',
  SR: 'square-root',
  PB: 'progressive',
  RS: 'reversed',
};

export const SAMPLER_NAMES: readonly SamplerName[] = [
  'instance',
  'class-balanced',
  'square-root',
  'progressive',
  'reversed',
];

/** Resolves a recipe name or a survey alias (case-insensitive for aliases) to the sampler name. */
export function resolveSamplerName(name: string): SamplerName {
  if ((SAMPLER_NAMES as readonly string[]).includes(name)) return name as SamplerName;
  const alias = SAMPLER_ALIASES[name.toUpperCase() as SamplerAlias];
  if (alias) return alias;
  throw new Error(
    `unknown sampler "${name}": expected one of ${SAMPLER_NAMES.join(', ')} or an alias ${Object.keys(SAMPLER_ALIASES).join(', ')}`,
  );
}

export function createSampler(name: SamplerName | SamplerAlias | string, opts: SamplerOptions): Sampler {
  const resolved = resolveSamplerName(name);
  const byClass = indicesByClass(opts.labels, opts.numClasses);
  const seed = opts.rng.nextUint32();
  const n = opts.epochLength ?? opts.labels.length;
  switch (resolved) {
    case 'instance':
      return {
        name: resolved,
        epochIndices(epoch) {
          const rng = epochRng(seed, epoch);
          if (n === opts.labels.length) {
            const order = new Int32Array(n);
            for (let i = 0; i < n; i++) order[i] = i;
            return rng.shuffle(order);
          }
          // A custom length: successive shuffled passes, cut to length.
          return cycleShuffled(opts.labels.length, n, rng);
        },
      };
    case 'class-balanced':
      return new ClassAwareSampler(byClass, seed, opts.samplesPerClass ?? 4);
    case 'square-root': {
      const q = opts.power ?? 0.5;
      const weights = byClass.map((idx) => (idx.length > 0 ? Math.pow(idx.length, q) : 0));
      return classThenImage(resolved, byClass, seed, n, () => weights);
    }
    case 'progressive': {
      const total = opts.labels.length;
      const present = byClass.filter((idx) => idx.length > 0).length;
      return classThenImage(resolved, byClass, seed, n, (epoch, epochs) => {
        const t = epochs > 0 ? epoch / epochs : 0;
        return byClass.map((idx) =>
          idx.length > 0 ? (1 - t) * (idx.length / total) + t * (1 / present) : 0,
        );
      });
    }
    case 'reversed': {
      const nMax = Math.max(...byClass.map((idx) => idx.length));
      const weights = byClass.map((idx) => (idx.length > 0 ? nMax / idx.length : 0));
      return classThenImage(resolved, byClass, seed, n, () => weights);
    }
  }
}

/** Class probabilities a sampler uses at an epoch (for reports and tests); CB gives uniform over present classes. */
export function classProbabilities(
  name: SamplerName | SamplerAlias | string,
  classCounts: number[],
  epoch = 0,
  epochs = 1,
  power = 0.5,
): number[] {
  const resolved = resolveSamplerName(name);
  const total = classCounts.reduce((a, b) => a + b, 0);
  const present = classCounts.filter((c) => c > 0).length;
  const nMax = Math.max(...classCounts);
  let w: number[];
  switch (resolved) {
    case 'instance':
      w = classCounts.slice();
      break;
    case 'class-balanced':
      w = classCounts.map((c) => (c > 0 ? 1 : 0));
      break;
    case 'square-root':
      w = classCounts.map((c) => (c > 0 ? Math.pow(c, power) : 0));
      break;
    case 'progressive': {
      const t = epochs > 0 ? epoch / epochs : 0;
      w = classCounts.map((c) => (c > 0 ? (1 - t) * (c / total) + t / present : 0));
      break;
    }
    case 'reversed':
      w = classCounts.map((c) => (c > 0 ? nMax / c : 0));
      break;
  }
  const s = w.reduce((a, b) => a + b, 0);
  return w.map((x) => x / s);
}

export function indicesByClass(labels: Int32Array, numClasses: number): Int32Array[] {
  const counts = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i];
    if (y < 0 || y >= numClasses) throw new Error(`label ${y} of image ${i} is outside 0..${numClasses - 1}`);
    counts[y]++;
  }
  const out = Array.from(counts, (c) => new Int32Array(c));
  const fill = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) out[labels[i]][fill[labels[i]]++] = i;
  return out;
}

/** An independent generator per epoch, so epochs can be produced in any order. */
function epochRng(seed: number, epoch: number): Rng {
  return new Rng((seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
}

function cycleShuffled(size: number, length: number, rng: Rng): Int32Array {
  const out = new Int32Array(length);
  const pass = new Int32Array(size);
  for (let i = 0; i < size; i++) pass[i] = i;
  for (let k = 0; k < length; k += size) {
    rng.shuffle(pass);
    out.set(pass.subarray(0, Math.min(size, length - k)), k);
  }
  return out;
}

/** Draw a class from `weights(epoch)`, then a uniform image of it; `length` draws. */
function classThenImage(
  name: SamplerName,
  byClass: Int32Array[],
  seed: number,
  length: number,
  weights: (epoch: number, epochs: number) => number[],
): Sampler {
  return {
    name,
    epochIndices(epoch, epochs) {
      const rng = epochRng(seed, epoch);
      const w = weights(epoch, epochs);
      const cdf = new Float64Array(w.length);
      let acc = 0;
      for (let k = 0; k < w.length; k++) cdf[k] = acc += w[k];
      if (!(acc > 0)) throw new Error(`sampler ${name}: no class has train images`);
      const out = new Int32Array(length);
      for (let i = 0; i < length; i++) {
        const u = rng.next() * acc;
        // First class whose cumulative weight exceeds u (binary search); skips zero-weight classes.
        let lo = 0;
        let hi = cdf.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          if (cdf[mid] > u) hi = mid;
          else lo = mid + 1;
        }
        const idx = byClass[lo];
        out[i] = idx[rng.int(idx.length)];
      }
      return out;
    },
  };
}

/**
 * The official `RandomCycleIter`: starts "before" the first item, so the first `next()` shuffles;
 * every completed pass reshuffles.
 */
export class RandomCycleIter {
  private readonly items: Int32Array;
  private i: number;

  constructor(
    items: ArrayLike<number>,
    private readonly shuffle: (a: Int32Array) => void,
  ) {
    this.items = Int32Array.from(items);
    this.i = this.items.length - 1;
  }

  next(): number {
    this.i++;
    if (this.i === this.items.length) {
      this.i = 0;
      this.shuffle(this.items);
    }
    return this.items[this.i];
  }
}

/**
 * The official class-aware generator for one epoch of `length` draws. Each class visit pulls
 * `perClass` items from that class's iterator at once (the official `zip(*[iter] * n)`), even
 * when the epoch ends before all are used.
 */
export function classAwareEpoch(
  classIter: RandomCycleIter,
  dataIters: RandomCycleIter[],
  length: number,
  perClass: number,
): Int32Array {
  const out = new Int32Array(length);
  const group = new Int32Array(perClass);
  let j = perClass;
  for (let i = 0; i < length; i++, j++) {
    if (j >= perClass) {
      j = 0;
      const it = dataIters[classIter.next()];
      for (let k = 0; k < perClass; k++) group[k] = it.next();
    }
    out[i] = group[j];
  }
  return out;
}

class ClassAwareSampler implements Sampler {
  readonly name = 'class-balanced' as const;
  private next = 0;
  private classIter!: RandomCycleIter;
  private dataIters!: RandomCycleIter[];
  private readonly length: number;
  private readonly presentClasses: number[];

  constructor(
    private readonly byClass: Int32Array[],
    private readonly seed: number,
    private readonly perClass: number,
  ) {
    if (!(perClass >= 1)) throw new Error(`class-balanced sampler: samplesPerClass must be >= 1, got ${perClass}`);
    this.presentClasses = byClass.flatMap((idx, k) => (idx.length > 0 ? [k] : []));
    if (this.presentClasses.length === 0) throw new Error('class-balanced sampler: no class has train images');
    this.length = Math.max(...byClass.map((idx) => idx.length)) * this.presentClasses.length;
    this.reset();
  }

  private reset(): void {
    // One generator drives every shuffle in call order, as Python's global `random` does.
    const rng = new Rng(this.seed);
    const shuffle = (a: Int32Array) => void rng.shuffle(a);
    this.classIter = new RandomCycleIter(this.presentClasses, shuffle);
    this.dataIters = this.byClass.map((idx) => new RandomCycleIter(idx, shuffle));
    this.next = 0;
  }

  epochIndices(epoch: number): Int32Array {
    if (epoch < this.next) this.reset();
    while (this.next < epoch) {
      classAwareEpoch(this.classIter, this.dataIters, this.length, this.perClass);
      this.next++;
    }
    this.next++;
    return classAwareEpoch(this.classIter, this.dataIters, this.length, this.perClass);
  }
}
