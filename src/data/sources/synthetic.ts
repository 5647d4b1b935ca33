/**
 * A small generated source for fast tests: each class is a fixed random prototype image plus
 * seeded noise, so a tiny network learns it in a few steps and results are deterministic.
 */
import { Rng } from '../../rng.js';
import type { ImageArray, SourceData } from '../types.js';

export interface SyntheticOptions {
  numClasses: number;
  perClass: number;
  testPerClass: number;
  size: number;
  channels: 1 | 3;
  seed?: number;
}

export function makeSynthetic(opts: SyntheticOptions): SourceData {
  const rng = new Rng(opts.seed ?? 12345);
  const pixelsPerImage = opts.size * opts.size * opts.channels;
  const prototypes = Array.from({ length: opts.numClasses }, () => {
    const p = new Float64Array(pixelsPerImage);
    for (let i = 0; i < pixelsPerImage; i++) p[i] = rng.next() * 255;
    return p;
  });
  const make = (perClass: number): ImageArray => {
    const count = perClass * opts.numClasses;
    const pixels = new Uint8Array(count * pixelsPerImage);
    const labels = new Int32Array(count);
    for (let i = 0; i < count; i++) {
      const c = i % opts.numClasses;
      labels[i] = c;
      for (let j = 0; j < pixelsPerImage; j++) {
        const v = prototypes[c][j] + rng.normal() * 40;
        pixels[i * pixelsPerImage + j] = Math.max(0, Math.min(255, Math.round(v)));
      }
    }
    return { pixels, labels, count, height: opts.size, width: opts.size, channels: opts.channels };
  };
  const train = make(opts.perClass);
  const test = make(opts.testPerClass);
  return {
    name: 'synthetic',
    numClasses: opts.numClasses,
    train,
    test,
    files: [],
    mean: Array(opts.channels).fill(0.5),
    std: Array(opts.channels).fill(0.25),
  };
}
