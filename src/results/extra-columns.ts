/**
 * Columns `lt-bench table --columns` adds to Table 5, beside Acc / UA / RA: calibration of the
 * reported checkpoint (ECE %, NLL) and the cost of the run's model (parameters and MACs per image,
 * in millions, at test time or in training), so a reader can tell whether a gain comes from capacity.
 */
import type { RunRecord } from './types.js';
import { metricsOf, type Checkpoint } from './store.js';

export const EXTRA_COLUMNS = ['ece', 'nll', 'params', 'macs', 'params-train', 'macs-train'] as const;
export type ExtraColumn = (typeof EXTRA_COLUMNS)[number];

export const EXTRA_COLUMN_LABELS: Record<ExtraColumn, string> = {
  ece: 'ECE (%)',
  nll: 'NLL',
  params: 'Params (M)',
  macs: 'MACs (M)',
  'params-train': 'Train params (M)',
  'macs-train': 'Train MACs (M)',
};

/** Decimals the text tables show: ResNet-8 has 0.075 M parameters, an NLL is below 1. */
export const EXTRA_COLUMN_DECIMALS: Record<ExtraColumn, number> = { ece: 2, nll: 3, params: 3, macs: 2, 'params-train': 3, 'macs-train': 2 };

/** The column's value for one record, null when the record lacks it (older records: `lt-bench eval` adds it). */
export function extraColumnValue(r: RunRecord, column: ExtraColumn, checkpoint: Checkpoint): number | null {
  const m = metricsOf(r, checkpoint);
  const c = r.cost;
  switch (column) {
    case 'ece':
      return m?.ece ?? null;
    case 'nll':
      return m?.nll ?? null;
    case 'params':
      return c ? c.params.test / 1e6 : null;
    case 'macs':
      return c ? c.macs.test / 1e6 : null;
    case 'params-train':
      return c ? c.params.train / 1e6 : null;
    case 'macs-train':
      return c ? c.macs.train / 1e6 : null;
  }
}

/** Why a record has no value in the column, and how to add it. */
export function extraColumnHint(column: ExtraColumn, checkpoint: Checkpoint): string {
  return column === 'ece' || column === 'nll'
    ? `recorded before calibration metrics; \`lt-bench eval <run-dir> --split test${checkpoint === 'best' ? ' --checkpoint best' : ''}\` adds them`
    : 'recorded before parameters/MACs; `lt-bench eval <run-dir> --split test` adds them';
}

/** Parses a `--columns` list ("ece,nll,params"); throws naming the unknown entry. */
export function parseExtraColumns(list: string): ExtraColumn[] {
  const out: ExtraColumn[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (!(EXTRA_COLUMNS as readonly string[]).includes(raw)) throw new Error(`unknown column '${raw}': expected ${EXTRA_COLUMNS.join(', ')}`);
    if (!out.includes(raw as ExtraColumn)) out.push(raw as ExtraColumn);
  }
  return out;
}
