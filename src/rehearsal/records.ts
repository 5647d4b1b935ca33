/**
 * Keeping rehearsal records apart from real ones. `table`, `plot` without `--rehearse` leave
 * rehearsal records out; with `--rehearse` they show only them, each placed in the real study's
 * cell it stands for (`rehearsalOf`: ImageNet-LT, 90 or 200 epochs), in a section of its own
 * named `<dataset>-rehearsal`, so the paper's numbers line up beside them.
 */
import type { ExpectedCell } from '../results/tables.js';
import type { RunRecord } from '../results/types.js';
import { REHEARSAL_RULE } from './shrink.js';

export function isRehearsalRecord(r: RunRecord): boolean {
  return r.rehearsal === true;
}

/** The dataset name rehearsal sections carry, e.g. imagenet-lt-rehearsal. */
export function rehearsalDatasetName(dataset: string): string {
  return `${dataset}-rehearsal`;
}

/** A rehearsal record placed at its real cell: dataset `<real>-rehearsal`, the real epoch budget. */
export function asStudyRecord(r: RunRecord): RunRecord {
  const of = r.rehearsalOf;
  if (!of) return r;
  return { ...r, dataset: { ...r.dataset, name: rehearsalDatasetName(of.dataset) }, epochs: of.epochs };
}

/**
 * The records a results command shows: with `rehearse`, only rehearsal records (at their real
 * cells); without, only real ones. `ignored` counts the records left out, for a one-line note.
 */
export function selectRecords(records: RunRecord[], rehearse: boolean): { records: RunRecord[]; ignored: number } {
  const kept = records.filter((r) => isRehearsalRecord(r) === rehearse);
  return { records: rehearse ? kept.map(asStudyRecord) : kept, ignored: records.length - kept.length };
}

/** The note a results command prints when it left records out. */
export function ignoredNote(ignored: number, rehearse: boolean, resultsDir: string): string | null {
  if (ignored === 0) return null;
  return rehearse
    ? `note: ${ignored} record(s) in ${resultsDir} are not rehearsal runs and are left out (drop --rehearse to see them)`
    : `note: ${ignored} rehearsal record(s) in ${resultsDir} are left out (\`--rehearse\` shows them)`;
}

/** The study's expected cells of the rehearsed dataset, moved to the rehearsal section. */
export function rehearsalExpectedCells(cells: ExpectedCell[]): ExpectedCell[] {
  return cells
    .filter((e) => e.dataset === REHEARSAL_RULE.studyDataset)
    .map((e) => ({ ...e, dataset: rehearsalDatasetName(e.dataset), backbone: REHEARSAL_RULE.backbone }));
}
