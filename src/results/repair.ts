/**
 * `lt-bench runs repair <id>`: a run whose run.json is unreadable (a torn write, a full disk) gets
 * a new record rebuilt from what the run directory still holds — `recipe.resolved.yaml`,
 * `epochs.jsonl` and the `last/` checkpoint — with status 'failed', so that `run` of the same
 * recipe resumes it from `last/`. The bad file is moved aside (`run.json.corrupt-<time>`), never
 * deleted, and the run's lock is held meanwhile so a live trainer is never disturbed.
 */
import { recipeRandAugment } from '../data/rand-augment.js';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { parse as yamlParse } from 'yaml';
import { recipeSplit } from '../data/run-data.js';
import { groupSizes } from '../data/longtail.js';
import { LtBenchError } from '../errors.js';
import { getMethod } from '../methods/registry.js';
import { recipeHash } from '../recipe/hash.js';
import { validateRecipe } from '../recipe/load.js';
import type { Recipe } from '../recipe/schema.js';
import { ltBenchVersion, gitCommit } from '../version.js';
import { RunHeldError, tryAcquireRunLock } from './lock.js';
import { CorruptRecordError, readEpochLines, readRecord, RUN_FILE, writeRecord } from './record.js';
import { appendRunLog } from './run-log.js';
import { findRunDir } from './run-dir.js';
import type { RunRecord } from './types.js';

export interface RepairResult {
  dir: string;
  /** False when run.json was readable: nothing was changed. */
  repaired: boolean;
  /** Where the bad run.json now is (null when there was none). */
  movedAside: string | null;
  record: RunRecord;
  /** Where `last/` stands (epochs done, steps into the next), null without a checkpoint. */
  checkpoint: { epoch: number; step: number } | null;
  /** Why the split (class counts, groups) could not be recomputed, if so. */
  splitProblem: string | null;
}

function lastCheckpoint(dir: string): { epoch: number; step: number } | null {
  try {
    const meta = JSON.parse(readFileSync(path.join(dir, 'last', 'checkpoint.json'), 'utf8')).meta as { epoch?: number; step?: number };
    return typeof meta?.epoch === 'number' ? { epoch: meta.epoch, step: meta.step ?? 0 } : null;
  } catch {
    return null;
  }
}

export function repairRun(resultsDir: string, id: string, opts: { dataRoot?: string } = {}): RepairResult {
  const dir = findRunDir(resultsDir, id);
  const runId = path.basename(dir);
  const lock = tryAcquireRunLock(path.dirname(dir), runId);
  if (!('release' in lock)) throw new RunHeldError(runId, lock);
  try {
    let problem: string;
    try {
      const ok = readRecord(dir);
      if (ok) return { dir, repaired: false, movedAside: null, record: ok, checkpoint: lastCheckpoint(dir), splitProblem: null };
      problem = `no ${RUN_FILE}`;
    } catch (e) {
      if (!(e instanceof CorruptRecordError)) throw e;
      problem = e.message.replace(/; move it aside.*$/, '');
    }
    const recipeFile = path.join(dir, 'recipe.resolved.yaml');
    if (!existsSync(recipeFile)) throw new LtBenchError(`${recipeFile}: missing; cannot rebuild the record of ${runId}`, 1);
    const text = readFileSync(recipeFile, 'utf8');
    const recipe = validateRecipe(yamlParse(text), recipeFile);
    const hash = /hash ([0-9a-f]{16,})/.exec(text.split('\n')[0] ?? '')?.[1] ?? recipeHash(recipe);

    let movedAside: string | null = null;
    if (existsSync(path.join(dir, RUN_FILE))) {
      movedAside = path.join(dir, `${RUN_FILE}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`);
      renameSync(path.join(dir, RUN_FILE), movedAside);
    }
    const ck = lastCheckpoint(dir);
    const lines = readEpochLines(dir).filter((l) => ck !== null && l.epoch <= ck.epoch);
    const record = rebuild(recipe, runId, hash, opts.dataRoot, lines.reduce((a, l) => a + l.seconds, 0));
    const message = `${RUN_FILE} was unreadable (${problem}); rebuilt by lt-bench runs repair${movedAside ? `, the old file kept as ${path.basename(movedAside)}` : ''}; ${ck === null ? 'no last/ checkpoint: the run starts over' : `resumes at epoch ${ck.epoch + 1} step ${ck.step + 1}`}`;
    record.error = { message, name: 'RepairedRecord', exitCode: 1, at: new Date().toISOString() };
    writeRecord(dir, record);
    appendRunLog(dir, `repair: ${message}`);
    return { dir, repaired: true, movedAside, record, checkpoint: ck, splitProblem: record.dataset.classCounts.length ? null : splitProblemOf(recipe, opts.dataRoot) };
  } finally {
    lock.release();
  }
}

function splitProblemOf(recipe: Recipe, dataRoot?: string): string | null {
  try {
    recipeSplit(recipe, dataRoot);
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

/** A 'failed' record from the resolved recipe; `run` rewrites every field when it resumes. */
function rebuild(recipe: Recipe, runId: string, hash: string, dataRoot: string | undefined, wallSeconds: number): RunRecord {
  let split: ReturnType<typeof recipeSplit> | null = null;
  try {
    split = recipeSplit(recipe, dataRoot);
  } catch {
    /* data not here: the dataset block stays empty until the run resumes */
  }
  const def = (() => {
    try {
      return getMethod(recipe.method.name);
    } catch {
      return { name: recipe.method.name, family: '?', tags: ['?'] };
    }
  })();
  const ds = recipe.dataset;
  return {
    schemaVersion: 1,
    runId,
    status: 'failed',
    recipeHash: hash,
    recipePath: null,
    name: recipe.name ?? runId,
    method: { name: def.name, family: def.family, tag: def.tags[0], tags: [...def.tags], params: recipe.method.params },
    backbone: recipe.backbone.name,
    dataset: {
      name: ds.name,
      profile: ds.profile,
      imbalanceRatio: ds.imbalanceRatio,
      balanced: ds.balanced,
      valSource: ds.valSource,
      maxPerClass: ds.maxPerClass,
      ...(recipeRandAugment(recipe) ? { randAugment: recipeRandAugment(recipe)! } : {}),
      splitSeed: ds.splitSeed,
      classCounts: split?.classCounts ?? [],
      groups: split?.groups ?? [],
      groupSizes: split ? groupSizes(split.groups) : { head: 0, middle: 0, tail: 0 },
      thresholds: recipe.eval.thresholds,
      splitChecksum: split?.checksum ?? '',
      sizes: split ? { train: split.indices.train.length, val: split.indices.val.length, test: split.indices.test.length } : { train: 0, val: 0, test: 0 },
      files: [],
    },
    seeds: { train: recipe.train.seed, split: ds.splitSeed },
    epochs: recipe.train.epochs,
    bestEpoch: null,
    metrics: { last: null, best: null, valLast: null },
    reference: null,
    environment: { backend: 'unknown', device: 'unknown', node: process.version, tfjs: 'unknown', ltBench: ltBenchVersion(), gitCommit: gitCommit(), platform: `${process.platform}-${process.arch}`, cpus: 0 },
    parameterCount: 0,
    timing: { wallSeconds, trainImagesPerSec: 0, startedAt: new Date().toISOString(), finishedAt: null },
  };
}
