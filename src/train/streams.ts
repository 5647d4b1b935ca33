/**
 * The input streams a method asks for beyond stream 0 (the recipe's training sampler): each
 * further stream's epoch order from its own sampler and seed, and the number of augmented views
 * of every stream (with their presets, when a method names a non-basic one). A single-stream, single-view method gets nothing, so its training is exactly
 * the trainer's plain path.
 */
import { samplerEpochOrder } from '../data/epoch-order.js';
import { resolveSamplerName } from '../data/samplers.js';
import type { ViewPreset } from '../data/batch-source.js';
import type { InputStream, MethodInstance } from '../methods/types.js';
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
): Pick<TrainInputs, 'extraStreams' | 'views' | 'presets'> {
  const streams = method.streams ?? [];
  const presets = streams.map((s, i) => viewPresets(s.views, i));
  const views = presets.map((p) => p.length);
  // Only a method that names a non-basic view gets presets: every other keeps its exact inputs.
  const named = presets.some((p) => p.some((v) => v !== 'basic')) ? { presets } : {};
  if (streams.length <= 1 && (views[0] ?? 1) === 1) return named;
  const extraStreams = streams.slice(1).map((s, k) => ({
    epochOrder: samplerEpochOrder(resolveSamplerName(s.sampler ?? 'instance'), trainIndices, labels, numClasses, epochs, epochLength, new Rng(seed).fork(`sampler:stream${k + 1}`)),
  }));
  return { extraStreams, views, ...named };
}

/** A stream's `views` as one preset per view: a count is that many basic views. */
export function viewPresets(views: InputStream['views'], stream: number): ViewPreset[] {
  if (views === undefined) return ['basic'];
  if (typeof views === 'number') {
    if (!Number.isInteger(views) || views < 1) throw new Error(`method stream ${stream}: views must be an integer >= 1, got ${views}`);
    return Array(views).fill('basic');
  }
  if (!Array.isArray(views) || views.length < 1) throw new Error(`method stream ${stream}: views must be an integer >= 1 or a non-empty list of view specs`);
  return views.map((v, i) => {
    const p = v?.preset;
    if (p !== 'basic' && p !== 'mocov2') throw new Error(`method stream ${stream}: views[${i}].preset must be 'basic' or 'mocov2', got ${JSON.stringify(p)}`);
    return p;
  });
}
