/**
 * Checkpoints: `checkpoint.json` (metadata + tensor index) and `tensors.bin` (float32 data) in a
 * directory that is replaced atomically: the new one is written under a temp name and renamed
 * into place, so a crash leaves either the old or the new checkpoint, never half of one.
 */
import * as tf from '@tensorflow/tfjs';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { DataError } from '../errors.js';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';

interface TensorEntry {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointFile<M> {
  meta: M;
  tensors: TensorEntry[];
}

export function saveCheckpoint<M>(dir: string, tensors: Map<string, tf.Tensor>, meta: M): void {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const entries: TensorEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  for (const [name, t] of tensors) {
    const data = t.dataSync() as Float32Array;
    entries.push({ name, shape: t.shape, offset, length: data.length });
    chunks.push(data);
    offset += data.length;
  }
  const all = new Float32Array(offset);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  writeFileAtomic(path.join(tmp, 'tensors.bin'), new Uint8Array(all.buffer));
  writeJsonAtomic(path.join(tmp, 'checkpoint.json'), { meta, tensors: entries } satisfies CheckpointFile<M>);
  const old = `${dir}.old-${process.pid}`;
  if (existsSync(dir)) renameSync(dir, old);
  renameSync(tmp, dir);
  rmSync(old, { recursive: true, force: true });
}

/**
 * True when `dir` holds a checkpoint. A crash between the two renames of saveCheckpoint leaves
 * only `<dir>.old-<pid>`: that complete older checkpoint is put back first.
 */
export function checkpointExists(dir: string): boolean {
  if (!existsSync(dir)) {
    const parent = path.dirname(dir);
    const prefix = `${path.basename(dir)}.old-`;
    const old = existsSync(parent) ? readdirSync(parent).find((n) => n.startsWith(prefix)) : undefined;
    if (old && existsSync(path.join(parent, old, 'checkpoint.json'))) renameSync(path.join(parent, old), dir);
  }
  return existsSync(path.join(dir, 'checkpoint.json'));
}

export function loadCheckpoint<M>(dir: string): { meta: M; tensors: Map<string, { shape: number[]; data: Float32Array }> } {
  const jsonFile = path.join(dir, 'checkpoint.json');
  const binFile = path.join(dir, 'tensors.bin');
  let file: CheckpointFile<M>;
  try {
    file = JSON.parse(readFileSync(jsonFile, 'utf8'));
  } catch (e) {
    throw new DataError(`${jsonFile}: unreadable checkpoint (${(e as Error).message}); rerun with --force to start over`, jsonFile);
  }
  const buf = readFileSync(binFile);
  const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const e of file.tensors) {
    if (e.offset + e.length > all.length) throw new DataError(`${binFile}: truncated checkpoint data for ${e.name}`, binFile);
    tensors.set(e.name, { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) });
  }
  return { meta: file.meta, tensors };
}

/** Assigns checkpoint values to variables by name; every variable must be present with its shape. */
export function restoreVariables(vars: Map<string, tf.Variable>, saved: Map<string, { shape: number[]; data: Float32Array }>, where: string): void {
  for (const [name, v] of vars) {
    const s = saved.get(name);
    if (!s) throw new DataError(`${where}: checkpoint has no tensor '${name}'`);
    if (s.shape.join(',') !== v.shape.join(',')) {
      throw new DataError(`${where}: tensor '${name}' has shape [${s.shape}] in the checkpoint, [${v.shape}] in the model`);
    }
    tf.tidy(() => v.assign(tf.tensor(s.data, s.shape)));
  }
}
