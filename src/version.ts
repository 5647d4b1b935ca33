/** Code version facts for run records: package version, git commit, tfjs version. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** The lt-bench package root (this file runs from dist/src/). */
export const packageRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) && dir !== path.dirname(dir)) dir = path.dirname(dir);
  return dir;
})();

let cachedVersion: string | null = null;
export function ltBenchVersion(): string {
  cachedVersion ??= JSON.parse(readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version as string;
  return cachedVersion;
}

let cachedCommit: string | null | undefined;
/** The git commit of the lt-bench checkout, with "-dirty" when it has uncommitted changes. */
export function gitCommit(): string | null {
  if (cachedCommit !== undefined) return cachedCommit;
  try {
    const head = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: packageRoot, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    cachedCommit = dirty ? `${head}-dirty` : head;
  } catch {
    cachedCommit = null;
  }
  return cachedCommit;
}

export function tfjsVersion(): string {
  return tf.version.tfjs;
}
