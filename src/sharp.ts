/**
 * sharp (libvips, a native addon) loads on first use: importing lt-bench's API, or a CLI command
 * that decodes no image, does not pay for it.
 */
import type sharpFn from 'sharp';

export type SharpFn = typeof sharpFn;

let loading: Promise<SharpFn> | null = null;

export function loadSharp(): Promise<SharpFn> {
  loading ??= import('sharp').then((m) => m.default);
  return loading;
}
