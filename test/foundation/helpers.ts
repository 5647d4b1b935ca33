/** Shared fixtures for the foundation tests: temp dirs, recipe files, a tiny synthetic recipe. */
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { validateRecipe } from '../../src/recipe/load.js';
import type { Recipe } from '../../src/recipe/schema.js';

export function tempDir(prefix = 'lt-bench-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function writeYaml(dir: string, rel: string, value: unknown): string {
  const file = path.join(dir, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, typeof value === 'string' ? value : stringify(value));
  return file;
}

/** The backend the end-to-end tests train on (the suite runs once per backend in CI). */
export const testBackend = process.env.LT_BENCH_TEST_BACKEND ?? 'wasm';

/** A recipe that trains in seconds: 4 synthetic classes, 8×8 pixels, ResNet-8. */
export function tinyRecipe(overrides: Record<string, unknown> = {}): Recipe {
  const base = {
    name: 'tiny',
    dataset: {
      name: 'synthetic',
      profile: 'exponential',
      imbalanceRatio: 10,
      valPerClass: 4,
      synthetic: { numClasses: 4, perClass: 40, testPerClass: 8, size: 8, channels: 1 },
      augment: { padCrop: 1, flip: true },
    },
    backbone: { name: 'resnet8' },
    method: { name: 'softmax' },
    train: { epochs: 2, batchSize: 16, optimizer: { lr: 0.05 } },
    eval: { thresholds: { head: 20, tail: 8 }, batchSize: 32 },
    output: tempDir(),
  };
  return validateRecipe(deepMerge(base, overrides));
}

function deepMerge(a: Record<string, any>, b: Record<string, any>): Record<string, any> {
  const out: Record<string, any> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof a[k] === 'object' ? deepMerge(a[k], v) : v;
  }
  return out;
}
