/**
 * Per-class train counts of long-tailed splits (index = class id, class 0 the head where the
 * profile is ordered).
 *
 * - exponential: LDAM-DRW `imbalance_cifar.py::get_img_num_per_cls`, 'exp':
 *   n_k = int(n_max · (1/ratio)^(k / (C − 1))), int = truncation toward zero. CIFAR-10 at ratio
 *   100 gives 5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50 (12,406 images); CIFAR-100
 *   gives 10,847.
 * - step: the same function, 'step': the first ⌊C/2⌋ classes keep n_max, the rest get
 *   int(n_max / ratio). (The official code emits 2·⌊C/2⌋ entries, one short for odd C; here the
 *   odd class out is a minority class.)
 * - pareto: how ImageNet-LT and Places-LT were built (OLTR: "sample class sizes from a Pareto
 *   distribution with α = 6"). OLTR's sampling code is not public, so this is an approximation:
 *   C draws from the Pareto (Lomax, numpy's `pareto`) law x = U^(−1/α) − 1, rescaled affinely so
 *   the largest draw becomes `max` and the smallest `min`, rounded, and assigned to classes in a
 *   seeded random order (ImageNet-LT's counts are not sorted by label). With α = 6, C = 1000 and
 *   [5, 1280] the mean lands near ImageNet-LT's 115.8.
 */
import type { Rng } from '../rng.js';

/** `int(x)` in Python: truncation toward zero. */
function pyInt(x: number): number {
  return Math.trunc(x);
}

export function exponentialProfile(numClasses: number, maxCount: number, ratio: number): number[] {
  checkArgs(numClasses, maxCount, ratio);
  const imbFactor = 1 / ratio; // the official --imb_factor (0.01 for ratio 100: the same double)
  if (numClasses === 1) return [pyInt(maxCount)];
  const out: number[] = [];
  for (let k = 0; k < numClasses; k++) out.push(pyInt(maxCount * Math.pow(imbFactor, k / (numClasses - 1.0))));
  return out;
}

export function stepProfile(numClasses: number, maxCount: number, ratio: number): number[] {
  checkArgs(numClasses, maxCount, ratio);
  const head = Math.floor(numClasses / 2);
  const out: number[] = [];
  for (let k = 0; k < numClasses; k++) out.push(k < head ? pyInt(maxCount) : pyInt(maxCount * (1 / ratio)));
  return out;
}

export interface ParetoProfileOptions {
  numClasses: number;
  /** Largest class size (ImageNet-LT 1,280; Places-LT 4,980). */
  max: number;
  /** Smallest class size (5 in both). */
  min: number;
  /** Pareto power (OLTR: 6). */
  alpha?: number;
  rng: Rng;
  /** Images available per class; counts are capped to them. */
  available?: number[];
  /** Assign the sorted sizes to classes in a random order (default true); false keeps class 0 the head. */
  shuffleClasses?: boolean;
}

export function paretoProfile(opts: ParetoProfileOptions): number[] {
  const { numClasses: C, max, min } = opts;
  const alpha = opts.alpha ?? 6;
  if (!(Number.isInteger(C) && C >= 2)) throw new Error(`pareto profile: numClasses must be an integer >= 2, got ${C}`);
  if (!(min >= 1 && max >= min)) throw new Error(`pareto profile: need 1 <= min <= max, got min ${min}, max ${max}`);
  if (!(alpha > 0)) throw new Error(`pareto profile: alpha must be > 0, got ${alpha}`);
  if (opts.available && opts.available.length !== C)
    throw new Error(`pareto profile: available has ${opts.available.length} entries for ${C} classes`);
  const draws: number[] = [];
  for (let k = 0; k < C; k++) {
    let u = 0;
    while (u === 0) u = opts.rng.next();
    draws.push(Math.pow(u, -1 / alpha) - 1);
  }
  draws.sort((a, b) => b - a);
  const hi = draws[0];
  const lo = draws[C - 1];
  const sizes = draws.map((x) => (hi === lo ? max : Math.round(min + ((x - lo) / (hi - lo)) * (max - min))));
  const classOrder = Array.from({ length: C }, (_, k) => k);
  if (opts.shuffleClasses ?? true) opts.rng.shuffle(classOrder);
  const out = new Array<number>(C);
  sizes.forEach((s, rank) => {
    const k = classOrder[rank];
    out[k] = opts.available ? Math.min(s, opts.available[k]) : s;
  });
  return out;
}

export type ProfileSpec =
  | { type: 'exp'; numClasses: number; max: number; ratio: number }
  | { type: 'step'; numClasses: number; max: number; ratio: number }
  | { type: 'pareto'; numClasses: number; max: number; min: number; alpha?: number; shuffleClasses?: boolean };

/** One entry point for recipes; `rng` is needed by the Pareto profile only. */
export function profileCounts(spec: ProfileSpec, rng?: Rng, available?: number[]): number[] {
  let counts: number[];
  switch (spec.type) {
    case 'exp':
      counts = exponentialProfile(spec.numClasses, spec.max, spec.ratio);
      break;
    case 'step':
      counts = stepProfile(spec.numClasses, spec.max, spec.ratio);
      break;
    case 'pareto':
      if (!rng) throw new Error('pareto profile needs a seeded rng');
      return paretoProfile({ ...spec, rng, available });
  }
  if (available) {
    counts.forEach((c, k) => {
      if (c > available[k])
        throw new Error(`profile asks ${c} images of class ${k} but only ${available[k]} are available`);
    });
  }
  return counts;
}

/** n_max / n_min over classes with images (the survey's imbalance ratio). */
export function imbalanceRatio(counts: number[]): number {
  const present = counts.filter((c) => c > 0);
  if (present.length === 0) return NaN;
  return Math.max(...present) / Math.min(...present);
}

function checkArgs(numClasses: number, maxCount: number, ratio: number): void {
  if (!(Number.isInteger(numClasses) && numClasses >= 1))
    throw new Error(`profile: numClasses must be a positive integer, got ${numClasses}`);
  if (!(maxCount >= 1)) throw new Error(`profile: max count must be >= 1, got ${maxCount}`);
  if (!(ratio >= 1)) throw new Error(`profile: imbalance ratio must be >= 1, got ${ratio}`);
}
