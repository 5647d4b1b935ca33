/**
 * The input streams a method asks for beyond stream 0 (the recipe's training sampler): each
 * further stream's epoch order from its own sampler and seed, and the number of augmented views
 * of every stream. A single-stream, single-view method gets nothing, so its training is exactly
 * the trainer's plain path.
 */
import { samplerEpochOrder } from '../data/epoch-order.js';
import { resolveSamplerName } from '../data/samplers.js';
import type { MethodInstance } from '../methods/types.js';
import { Rng } from '../rng.js';
import type { TrainInputs } from './trainer.js';

export function methodStreams(
  method: MethodInstance,
  trainIndices: Int32Array,
  labels: Int32Array,
  numClasses: number,
  epochs: number,
  epochLength: 'dataset' | 'sampler',
  seed: number,
): Pick<TrainInputs, 'extraStreams' | 'views'> {
  const streams = method.streams ?? [];
  const views = streams.map((s) => s.views ?? 1);
  for (const [i, v] of views.entries()) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`method stream ${i}: views must be an integer >= 1, got ${v}`);
  }
  if (streams.length <= 1 && (views[0] ?? 1) === 1) return {};
  const extraStreams = streams.slice(1).map((s, k) => ({
    epochOrder: samplerEpochOrder(resolveSamplerName(s.sampler ?? 'instance'), trainIndices, labels, numClasses, epochs, epochLength, new Rng(seed).fork(`sampler:stream${k + 1}`)),
  }));
  return { extraStreams, views };
}
