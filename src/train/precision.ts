/**
 * `train.precision`: fp32, or libtorch's autocast to bf16 / fp16 on the `torch` backend (the
 * addon runs every kernel inside an autocast region: convolutions and matmuls in the reduced
 * type, reductions and batch norm in fp32, results handed back to tfjs as float32). Where a
 * backend cannot do it the run is refused before anything is trained (exit 2), never silently
 * run in fp32. fp16 trains with dynamic loss scaling (src/train/loss-scaler.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { BackendChoice } from '../backend.js';

export type Precision = 'fp32' | 'bf16' | 'fp16';
const MODE: Record<Precision, number> = { fp32: 0, bf16: 1, fp16: 2 };

interface AutocastAddon {
  setAutocast?(mode: number): void;
}

function addonOf(choice: BackendChoice): AutocastAddon | null {
  if (choice.name !== 'torch') return null;
  return (tf.backend() as unknown as { addon?: AutocastAddon }).addon ?? null;
}

/** Why `precision` cannot run on `choice` (null: it can). */
export function precisionRefusal(precision: Precision, choice: BackendChoice): string | null {
  if (precision === 'fp32') return null;
  if (choice.name !== 'torch') return `${precision} needs the torch backend (libtorch's autocast); this run's backend is ${choice.name}`;
  if (typeof addonOf(choice)?.setAutocast !== 'function') return `${precision}: the torch addon predates autocast; rebuild it (npm run build:torch)`;
  if (precision === 'fp16' && !choice.device.startsWith('cuda')) return `fp16 needs CUDA (libtorch's CPU autocast does bf16 only); this run's torch device is ${choice.device}`;
  return null;
}

/** Refuses, as a usage error naming the recipe and key, a precision the backend cannot do. */
export function checkPrecision(recipe: { name?: string; train: { precision: Precision } }, choice: BackendChoice, recipePath?: string | null): void {
  const refusal = precisionRefusal(recipe.train.precision, choice);
  if (refusal) throw new UsageError(`${recipePath ?? recipe.name ?? 'recipe'}: train.precision: ${refusal}`);
}

/**
 * Turns autocast on for `precision` (refusing what the backend cannot do, as a usage error naming
 * `where`); returns the function that turns it off again.
 */
export function applyPrecision(precision: Precision, choice: BackendChoice, where: string): () => void {
  checkPrecision({ train: { precision } }, choice, where);
  if (precision === 'fp32') return () => {};
  const addon = addonOf(choice)!;
  addon.setAutocast!(MODE[precision]);
  return () => addon.setAutocast!(0);
}
