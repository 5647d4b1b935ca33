/**
 * TEMPORARY STUB — TO BE REPLACED by `src/data/samplers.ts` (the datasets helper's branch), which
 * owns the samplers. Only the interface is relied on here:
 *
 *   createSampler(name, { labels, numClasses, rng }) → { epochIndices(epoch, epochs): Int32Array }
 *
 * `epochIndices` returns positions into `labels` (0 … labels.length − 1) in training order.
 * When samplers.ts lands, delete this file and change the one import in src/stages/order.ts.
 *
 * The stub implements just enough for stage 2 to run: `instance` (a seeded shuffle) and
 * `class-balanced` (a minimal class-aware sampler: cycle through shuffled classes, 4 samples of a
 * class at a time from that class's shuffled cyclic list, length max n_k · C). Other samplers throw.
 */
import type { SamplerName } from '../methods/types.js';
import type { Rng } from '../rng.js';

export interface SamplerInit {
  labels: Int32Array;
  numClasses: number;
  rng: Rng;
}

export interface EpochSampler {
  epochIndices(epoch: number, epochs: number): Int32Array;
}

/** A list consumed in a random order, reshuffled after every full pass (RandomCycleIter). */
function cycle(items: number[], rng: Rng): () => number {
  const list = rng.shuffle([...items]);
  let i = 0;
  return () => {
    if (i === list.length) {
      rng.shuffle(list);
      i = 0;
    }
    return list[i++];
  };
}

export function createSampler(name: SamplerName, init: SamplerInit): EpochSampler {
  const { labels, numClasses, rng } = init;
  switch (name) {
    case 'instance':
      return { epochIndices: () => rng.shuffle(Int32Array.from(labels, (_, i) => i)) };
    case 'class-balanced': {
      const perClass: number[][] = Array.from({ length: numClasses }, () => []);
      labels.forEach((y, i) => perClass[y].push(i));
      const present = perClass.map((l, c) => (l.length > 0 ? c : -1)).filter((c) => c >= 0);
      const length = Math.max(...perClass.map((l) => l.length)) * perClass.length;
      const nextClass = cycle(present, rng);
      const nextOf = perClass.map((l) => (l.length > 0 ? cycle(l, rng) : () => -1));
      return {
        epochIndices: () => {
          const out = new Int32Array(length);
          for (let i = 0; i < length; ) {
            const c = nextClass();
            for (let j = 0; j < 4 && i < length; j++) out[i++] = nextOf[c]();
          }
          return out;
        },
      };
    }
    default:
      throw new Error(`sampler '${name}' is not available yet (it lands with src/data/samplers.ts); use instance or class-balanced`);
  }
}
