/**
 * Epoch orders of stage 1 (train.sampler) and stage 2: a sampler (samplers.ts) over the LT train
 * labels, mapped to dataset indices. With `epochLength: 'dataset'` an epoch is cut to as many samples as the LT
 * train set, as the official classifier-balancing / KaihuaTang trainers do (`epoch_steps =
 * int(N / batch_size)`, breaking out of the class-aware sampler's max n_k·C-long iterator).
 * Deviation: the official iterator then resumes the next epoch where the cut one stopped; here the
 * next epoch continues after the sampler's full (uncut) epoch — still whole 4-per-class cycles.
 */
import { createSampler } from './samplers.js';
import type { SamplerName } from '../methods/types.js';
import type { Rng } from '../rng.js';

export function samplerEpochOrder(
  sampler: SamplerName,
  trainIndices: Int32Array,
  allLabels: Int32Array,
  numClasses: number,
  epochs: number,
  epochLength: 'dataset' | 'sampler',
  rng: Rng,
): (epoch: number) => Int32Array {
  const labels = Int32Array.from(trainIndices, (i) => allLabels[i]);
  // The sampler is a pure function of (its seed, the epoch), so a resumed run draws the same order.
  const s = createSampler(sampler, { labels, numClasses, rng });
  return (epoch) => {
    const positions = s.epochIndices(epoch, epochs);
    const n = epochLength === 'dataset' ? Math.min(positions.length, trainIndices.length) : positions.length;
    return Int32Array.from(positions.subarray(0, n), (p) => trainIndices[p]);
  };
}
