/**
 * `lt-bench eval` on a record written before parameters/MACs (`cost`) and calibration metrics
 * (`ece`, `nll`, `reliability`) existed: adds what the record lacks, never replacing a value it
 * has. The record is read again under the run's lock just before the write (a concurrent writer
 * cannot be overwritten) and written atomically, so an interrupted write leaves the old record.
 */
import path from 'node:path';
import { RunHeldError, withRunLock } from '../results/lock.js';
import { readRecord, writeRecord } from '../results/record.js';
import type { EvalMetrics, RunRecord } from '../results/types.js';
import type { RunCost } from './cost.js';

export interface Backfill {
  cost?: RunCost;
  /** Test metrics of `checkpoint` evaluated again (the recipe's own test split), whose calibration fields are added. */
  test?: { checkpoint: 'last' | 'best'; metrics: EvalMetrics };
}

const CALIBRATION_KEYS = ['ece', 'nll', 'reliability'] as const;

/** What `backfill` would add to `record` (key paths), without writing. */
export function missingFields(record: RunRecord, fill: Backfill): string[] {
  const out: string[] = [];
  if (record.status !== 'finished') return out;
  if (fill.cost && !record.cost) out.push('cost');
  if (fill.test) {
    const m = record.metrics[fill.test.checkpoint];
    if (m) for (const k of CALIBRATION_KEYS) if (m[k] === undefined && fill.test.metrics[k] !== undefined) out.push(`metrics.${fill.test.checkpoint}.${k}`);
  }
  return out;
}

/**
 * Adds to `<runDir>/run.json` the fields of `fill` it lacks; returns their key paths (empty: the
 * record was left alone). Only finished records that no trainer holds are changed.
 */
export async function backfillRecord(runDir: string, fill: Backfill): Promise<string[]> {
  const dir = path.resolve(runDir);
  const first = readRecord(dir);
  if (!first || missingFields(first, fill).length === 0) return [];
  try {
    return await addUnderLock(dir, first.runId, fill);
  } catch (e) {
    // A trainer holds the run (a rerun into the same directory): leave its record alone.
    if (e instanceof RunHeldError) return [];
    throw e;
  }
}

function addUnderLock(dir: string, runId: string, fill: Backfill): Promise<string[]> {
  return withRunLock(path.dirname(dir), runId, {}, async () => {
    const record = readRecord(dir);
    if (!record) return [];
    const added = missingFields(record, fill);
    if (added.length === 0) return [];
    if (added.includes('cost')) record.cost = fill.cost;
    if (fill.test) {
      const m = record.metrics[fill.test.checkpoint]!;
      for (const k of CALIBRATION_KEYS) {
        if (added.includes(`metrics.${fill.test.checkpoint}.${k}`)) (m as unknown as Record<string, unknown>)[k] = fill.test.metrics[k];
      }
    }
    writeRecord(dir, record);
    return added;
  });
}
