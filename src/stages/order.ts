/**
 * Epoch orders for the stages: a sampler over the LT train labels, mapped to dataset indices.
 * With `epochLength: 'dataset'` an epoch is cut to as many samples as the LT train set, as the
 * official classifier-balancing / KaihuaTang trainers do (`epoch_steps = int(N / batch_size)`,
 * breaking out of the class-aware sampler's max n_k·C-long iterator).
 */
import type { SamplerName } from '../methods/types.js';
import type { Rng } from '../rng.js';
// TO BE REPLACED: import { createSampler } from '../data/samplers.js' when it lands.
import { createSampler } from './sampler-stub.js';

export function samplerEpochOrder(
  sampler: SamplerName,
  trainIndices: Int32Array,
  allLabels: Int32Array,
  numClasses: number,
  epochs: number,
  epochLength: 'dataset' | 'sampler',
): (epoch: number, rng: Rng) => Int32Array {
  const labels = Int32Array.from(trainIndices, (i) => allLabels[i]);
  // A fresh sampler per epoch from the trainer's (seed, epoch) stream keeps resumed runs exact.
  return (epoch, rng) => {
    const positions = createSampler(sampler, { labels, numClasses, rng }).epochIndices(epoch, epochs);
    const n = epochLength === 'dataset' ? Math.min(positions.length, trainIndices.length) : positions.length;
    return Int32Array.from(positions.subarray(0, n), (p) => trainIndices[p]);
  };
}
