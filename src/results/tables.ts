/**
 * Tables 5, 6 and 7 of the survey, built only from run records (never by training).
 *
 * - Table 5: Acc, UA, RA per method × epoch budget. UA = max(A_v, A_b) where A_v is the vanilla
 *   (softmax) run and A_b the method's run on the balanced twin split; both are the runs the record
 *   names in `reference`. RA = 100·A_t/UA. Computed per record (per seed), then averaged.
 * - Table 6: head / middle / tail accuracy per method × epoch budget.
 * - Table 7: stage-1 loss × classifier scheme (joint / NCM / cRT / LWS), on all / head / middle / tail.
 *
 * Records are split into sections (dataset, backbone, profile, imbalance ratio): one table per
 * section. Within a section, records of the same row (method + distinguishing params) and epoch
 * budget are one cell; several training seeds give mean ± sample std (n−1). A cell only ever
 * shows numbers held by records; empty cells are listed in `missing` with the recipes that fill
 * them (from the caller's expected cells). Cells mixing code versions or params are flagged.
 *
 * The result is plain data (`ResultTable`); `format.ts` renders it.
 */
import type { RunRecord, Table7Descriptor } from './types.js';
import { codeVersion, metricsOf, RecordIndex, type Checkpoint } from './store.js';
import {
  CLASSIFIER_LABELS,
  DECOUPLED_CLASSIFIER,
  DECOUPLED_STAGE1_LOSS,
  distinguishingKeys,
  FAMILY_LABELS,
  FAMILY_ORDER,
  SURVEY_ROWS,
  TABLE7_CLASSIFIERS,
  TABLE7_LOSSES,
  familyOf,
  findLayoutRow,
  isImageNetLT,
  layoutIndex,
  rowKey,
  rowLabel,
  splitDefault,
  withTrainSampler,
  type FamilyId,
} from './table-layout.js';
import { paperTable5, paperTable6, paperTable7, type PaperTables } from './paper.js';
import { isImageListDataset } from '../recipe/schema.js';
import { EXTRA_COLUMN_DECIMALS, EXTRA_COLUMN_LABELS, extraColumnHint, extraColumnValue, type ExtraColumn } from './extra-columns.js';

export type TableId = 5 | 6 | 7;

/** mean ± sample standard deviation over n records (std null when n = 1). */
export interface Stat {
  mean: number;
  std: number | null;
  n: number;
}

/**
 * Why a cell deserves a second look:
 * - mixed-versions: its records (or their balanced references) come from different code versions;
 * - mixed-params: its records were trained with different method params;
 * - missing-seeds: fewer training seeds than the expected cells ask for;
 * - partial-reference: UA/RA computed from fewer runs than Acc (some balanced runs missing);
 * - tuned-on-test: validation (best epoch, post-hoc tuning) read the test set (valSource: test);
 * - transductive: a post-hoc step of the method read the unlabelled test images (SADE's test-time aggregation);
 * - other-precision: a record trained in another precision than fp32 (train.precision bf16 / fp16).
 */
export type CellFlag = 'mixed-versions' | 'mixed-params' | 'missing-seeds' | 'partial-reference' | 'tuned-on-test' | 'transductive' | 'other-precision';

export interface Cell {
  /** null: no record fills this cell. */
  stat: Stat | null;
  /** True when the value does not exist for this dataset (e.g. a split without tail classes). */
  notApplicable?: boolean;
  /** The paper's value (only with `paper` on ImageNet-LT; null when the paper has none). */
  paper?: number | null;
  /** stat.mean − paper. */
  delta?: number | null;
  /** Runs whose numbers went into the cell (LT runs, then the balanced runs for UA/RA). */
  runIds: string[];
  flags: CellFlag[];
  /** Decimals the text formats show (default 1; e.g. NLL and parameter counts in millions need more). */
  decimals?: number;
}

export interface Column {
  /** Header of the column group, e.g. "90 epochs" or "Head". */
  group: string;
  /** Header of the column, e.g. "Acc" or "cRT". */
  label: string;
}

export type Row =
  | { kind: 'group'; label: string }
  | { kind: 'row'; id: string; label: string; method: string; family: FamilyId; cells: Cell[] };

export interface MissingCell {
  /** Row label. */
  row: string;
  /** Which columns are empty, e.g. "200 epochs: Acc, UA, RA". */
  where: string;
  reason: string;
  /** Recipes that would fill the cell (`lt-bench run <recipe>`), from the expected cells. */
  recipes: string[];
}

export interface Section {
  dataset: string;
  backbone: string | null;
  profile: string | null;
  imbalanceRatio: number | null;
  /** dataset.maxPerClass of the runs (null: the full split); a capped split is a study of its own. */
  maxPerClass?: number | null;
}

export interface ResultTable {
  /** 'test-distributions': rows = methods, columns = test distributions (src/results/test-distribution-tables.ts). */
  table: TableId | 'test-distributions';
  title: string;
  section: Section;
  checkpoint: Checkpoint;
  /** True when cells carry the paper's values (ImageNet-LT with `paper` given). */
  paper: boolean;
  /** The stub column's header ("Method" or "Stage-1 loss"). */
  stub: string;
  columns: Column[];
  rows: Row[];
  missing: MissingCell[];
  /** One line per flagged cell or other remark, e.g. which code versions a cell mixes. */
  notes: string[];
}

/** A cell the caller expects (e.g. from the recipes directory), so missing ones can name their recipe. */
export interface ExpectedCell {
  dataset: string;
  backbone?: string;
  method: string;
  params?: Record<string, unknown>;
  epochs: number;
  recipePath: string;
  /** Training seeds the study asks for; fewer records flag the cell `missing-seeds`. */
  seeds?: number[];
  /** Table 7 coordinates, for stage-2 recipes. */
  table7?: Table7Descriptor;
  /** The recipe's dataset.maxPerClass (null or absent: the full split). */
  maxPerClass?: number | null;
}

export interface TableOptions {
  /** Which checkpoint's test metrics to report (default 'last'). */
  checkpoint?: Checkpoint;
  /** The paper's numbers; adds `paper` and `delta` to every cell of ImageNet-LT tables. */
  paper?: PaperTables | null;
  expected?: ExpectedCell[];
  /** Which tables to build (default 5, 6, 7). */
  tables?: TableId[];
  /**
   * All records, including balanced reference runs that are not in `records` (defaults to
   * `records`). Lets a caller filter the rows without losing the runs UA needs.
   */
  referenceRecords?: RunRecord[];
  /**
   * Leave out tables (sections) that no record fills, although expected cells name them; with
   * `paper`, the ImageNet-LT tables are kept. Default false: every expected section is built.
   */
  onlyWithRecords?: boolean;
  /** Columns added to Table 5 after Acc / UA / RA of each budget (calibration, parameters, MACs). */
  extraColumns?: ExtraColumn[];
}

/** Builds the requested tables for every section found in the records and expected cells. */
export function buildTables(records: RunRecord[], options: TableOptions = {}): ResultTable[] {
  const which = options.tables ?? [5, 6, 7];
  const out: ResultTable[] = [];
  if (which.includes(5)) out.push(...buildTable5(records, options));
  if (which.includes(6)) out.push(...buildTable6(records, options));
  if (which.includes(7)) out.push(...buildTable7(records, options));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Sections, rows, cells

function sectionKey(s: Section): string {
  return `${s.dataset}|${s.backbone ?? ''}|${s.profile ?? ''}|${s.imbalanceRatio ?? ''}|${s.maxPerClass ?? ''}`;
}

function sectionOf(r: RunRecord): Section {
  // Image-list datasets (ImageNet-LT, …) are split by their lists: no profile or ratio to name.
  if (isImageListDataset(r.dataset.name)) return { dataset: r.dataset.name, backbone: r.backbone, profile: null, imbalanceRatio: null, maxPerClass: r.dataset.maxPerClass ?? null };
  return { dataset: r.dataset.name, backbone: r.backbone, profile: r.dataset.profile, imbalanceRatio: r.dataset.imbalanceRatio, maxPerClass: r.dataset.maxPerClass ?? null };
}

export function sectionLabel(s: Section): string {
  const parts = [s.dataset];
  if (s.backbone) parts.push(s.backbone);
  if (s.profile) parts.push(s.imbalanceRatio !== null ? `${s.profile} ρ=${s.imbalanceRatio}` : s.profile);
  if (s.maxPerClass != null) parts.push(`n_max=${s.maxPerClass}`);
  return parts.join(' · ');
}

interface SectionGroup {
  section: Section;
  records: RunRecord[];
  expected: ExpectedCell[];
}

/**
 * Splits long-tailed records (balanced runs are references, never rows) into sections, and
 * attaches each expected cell to the sections of its dataset (and backbone, when it names one).
 */
function sections(records: RunRecord[], expected: ExpectedCell[], options: TableOptions = {}): SectionGroup[] {
  const groups = new Map<string, SectionGroup>();
  for (const r of records) {
    if (r.dataset.balanced) continue;
    // A method's intermediate stages (a pretext pre-training, an expert on a class subset) are no row.
    if (r.method.name.startsWith('pretext:') || r.method.name.includes('@stage')) continue;
    const s = sectionOf(r);
    const key = sectionKey(s);
    if (!groups.has(key)) groups.set(key, { section: s, records: [], expected: [] });
    groups.get(key)!.records.push(r);
  }
  for (const e of expected) {
    const matches = [...groups.values()].filter(
      (g) =>
        g.section.dataset === e.dataset &&
        (e.backbone === undefined || g.section.backbone === e.backbone) &&
        (g.section.maxPerClass ?? null) === (e.maxPerClass ?? null),
    );
    if (matches.length === 0) {
      const s: Section = { dataset: e.dataset, backbone: e.backbone ?? null, profile: null, imbalanceRatio: null, maxPerClass: e.maxPerClass ?? null };
      const g = { section: s, records: [], expected: [e] };
      groups.set(sectionKey(s), g);
    } else {
      for (const g of matches) g.expected.push(e);
    }
  }
  // The paper's tables are ImageNet-LT with ResNeXt-50: with the paper asked for, that table is
  // shown even when neither a record nor a recipe names it.
  if (options.paper && ![...groups.values()].some((g) => isImageNetLT(g.section.dataset))) {
    const s: Section = { dataset: 'imagenet-lt', backbone: 'resnext50', profile: null, imbalanceRatio: null, maxPerClass: null };
    groups.set(sectionKey(s), { section: s, records: [], expected: [] });
  }
  // Tables no record fills are left out when asked (`lt-bench table` without --expected), except
  // the paper's own ImageNet-LT tables with the paper on.
  const kept = [...groups.values()].filter((g) => !options.onlyWithRecords || g.records.length > 0 || (options.paper && isImageNetLT(g.section.dataset)));
  return kept.sort((a, b) => (sectionKey(a.section) < sectionKey(b.section) ? -1 : 1));
}

/**
 * The params that pick a row (see distinguishingKeys). A Table 7 descriptor's stage-1 loss
 * counts as the `stage1Loss` param, so a focal-stage-1 cRT run is not reported as Decouple-CRT.
 */
function distinguishing(method: string, params: Record<string, unknown>, table7?: Table7Descriptor): Record<string, unknown> {
  const effective = table7 ? { ...params, stage1Loss: table7.stage1Loss } : params;
  const out: Record<string, unknown> = {};
  for (const k of distinguishingKeys(method)) {
    if (effective[k] !== undefined && effective[k] !== splitDefault(method, k)) out[k] = effective[k];
  }
  return out;
}

interface RowSpec {
  id: string;
  label: string;
  method: string;
  params: Record<string, unknown>;
  family: FamilyId;
  order: number;
  paper?: string;
}

function rowSpec(method: string, params: Record<string, unknown>, recordFamily?: string, table7?: Table7Descriptor): RowSpec {
  const d = distinguishing(method, params, table7);
  const layout = findLayoutRow(method, d);
  return {
    id: rowKey(method, d),
    label: rowLabel(method, d),
    method,
    params: d,
    family: familyOf(method, d, recordFamily),
    order: layoutIndex(method, d),
    // The paper's Table 5 cells were trained without RandAugment (its Table 9 has those).
    ...(layout?.paper && d.randAugment === undefined ? { paper: layout.paper } : {}),
  };
}

/** Orders rows as the survey does and inserts a group row before each family. */
function groupRows(specs: RowSpec[], makeRow: (spec: RowSpec) => Row): Row[] {
  const sorted = [...specs].sort(
    (a, b) =>
      FAMILY_ORDER.indexOf(a.family) - FAMILY_ORDER.indexOf(b.family) || a.order - b.order || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
  );
  const rows: Row[] = [];
  let family: FamilyId | null = null;
  for (const spec of sorted) {
    if (spec.family !== family) {
      family = spec.family;
      rows.push({ kind: 'group', label: FAMILY_LABELS[family] });
    }
    rows.push(makeRow(spec));
  }
  return rows;
}

/** One record per training seed: a seed run twice (e.g. an edited recipe) keeps the later run. */
function onePerSeed(records: RunRecord[], notes: string[], where: string): RunRecord[] {
  const bySeed = new Map<number, RunRecord>();
  for (const r of records) {
    const prev = bySeed.get(r.seeds.train);
    if (!prev) {
      bySeed.set(r.seeds.train, r);
      continue;
    }
    const later = (r.timing.finishedAt ?? '') > (prev.timing.finishedAt ?? '') ? r : prev;
    const dropped = later === r ? prev : r;
    bySeed.set(r.seeds.train, later);
    notes.push(`${where}: seed ${r.seeds.train} has two runs; using ${later.runId}, ignoring ${dropped.runId}`);
  }
  return [...bySeed.values()].sort((a, b) => a.seeds.train - b.seeds.train);
}

/** "1 epoch", "90 epochs". */
export function epochsText(n: number): string {
  return `${n} epoch${n === 1 ? '' : 's'}`;
}

export function meanStd(values: number[]): Stat | null {
  if (values.length === 0) return null;
  const n = values.length;
  const mean = values.reduce((s, v) => s + v, 0) / n;
  if (n === 1) return { mean, std: null, n };
  const variance = values.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(obj[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

/** Describes how the params of a cell's records differ, e.g. "gamma=2|3". */
function paramDifference(records: RunRecord[]): string | null {
  if (new Set(records.map((r) => canonical(r.method.params))).size <= 1) return null;
  const keys = new Set(records.flatMap((r) => Object.keys(r.method.params)));
  const diffs: string[] = [];
  for (const k of [...keys].sort()) {
    const values = [...new Set(records.map((r) => canonical(r.method.params[k])))];
    if (values.length > 1) diffs.push(`${k}=${values.join('|')}`);
  }
  return diffs.join(', ');
}

/** Builds a cell from per-record values; `sources` are all records the values came from. */
function makeCell(
  values: number[],
  runIds: string[],
  sources: RunRecord[],
  flagsIn: CellFlag[],
  notes: string[],
  where: string,
): Cell {
  const flags = [...flagsIn];
  const versions = [...new Set(sources.map(codeVersion))].sort();
  if (versions.length > 1) {
    flags.push('mixed-versions');
    notes.push(`${where}: mixes code versions ${versions.join(', ')}`);
  }
  return { stat: meanStd(values), runIds, flags: sortFlags(flags) };
}

const FLAG_ORDER: CellFlag[] = ['mixed-versions', 'mixed-params', 'missing-seeds', 'partial-reference', 'tuned-on-test', 'transductive', 'other-precision'];
function sortFlags(flags: CellFlag[]): CellFlag[] {
  return FLAG_ORDER.filter((f) => flags.includes(f));
}

function withPaper(cell: Cell, paper: number | null | undefined, enabled: boolean): Cell {
  if (!enabled) return cell;
  const p = paper ?? null;
  return { ...cell, paper: p, delta: p !== null && cell.stat ? cell.stat.mean - p : null };
}

function emptyCell(): Cell {
  return { stat: null, runIds: [], flags: [] };
}

/** Flags shared by every cell of a (row, epochs) group: params and seeds. */
function cellGroupFlags(records: RunRecord[], expected: ExpectedCell[], notes: string[], where: string, missing: MissingCell[], row: string, whereCols: string): CellFlag[] {
  const flags: CellFlag[] = [];
  if (records.some((r) => r.dataset.valSource === 'test')) flags.push('tuned-on-test');
  if (records.some((r) => r.method.calibration?.last?.transductive === true)) flags.push('transductive');
  const precisions = [...new Set(records.map((r) => r.precision ?? 'fp32'))].sort();
  if (precisions.some((p) => p !== 'fp32')) {
    flags.push('other-precision');
    notes.push(`${where}: trained in ${precisions.join(' and ')}${precisions.length > 1 ? ' (mixed)' : ''}; the study's other cells are fp32`);
  }
  const diff = paramDifference(records);
  if (diff) {
    flags.push('mixed-params');
    notes.push(`${where}: records differ in params ${diff}`);
  }
  const wantSeeds = [...new Set(expected.flatMap((e) => e.seeds ?? []))].sort((a, b) => a - b);
  const have = new Set(records.map((r) => r.seeds.train));
  const lacking = wantSeeds.filter((s) => !have.has(s));
  if (records.length > 0 && lacking.length > 0) {
    flags.push('missing-seeds');
    missing.push({
      row,
      where: whereCols,
      reason: `seeds ${lacking.join(', ')} missing (have ${[...have].sort((a, b) => a - b).join(', ')})`,
      recipes: recipesOf(expected, lacking),
    });
  }
  return flags;
}

function recipesOf(expected: ExpectedCell[], seeds?: number[]): string[] {
  const suffix = seeds && seeds.length > 0 ? ` --seeds ${seeds.join(',')}` : '';
  return [...new Set(expected.map((e) => `${e.recipePath}${suffix}`))].sort();
}

function epochsOf(records: RunRecord[], expected: ExpectedCell[], extra: number[]): number[] {
  return [...new Set([...records.map((r) => r.epochs), ...expected.map((e) => e.epochs), ...extra])].sort((a, b) => a - b);
}

// ---------------------------------------------------------------------------------------------
// UA / RA

export interface ReferenceResult {
  ua: number | null;
  ra: number | null;
  /** The balanced runs used. */
  used: RunRecord[];
  /** Why UA could not be computed (empty when it could). */
  problems: string[];
}

/**
 * UA and RA of one long-tailed record from the balanced runs it names: UA = max(A_v, A_b),
 * RA = 100·A_t/UA. A record that names no method-balanced run (softmax itself, or a method that
 * is plain CE on a balanced set) uses A_v alone.
 */
export function referenceAccuracy(record: RunRecord, index: RecordIndex, checkpoint: Checkpoint): ReferenceResult {
  const problems: string[] = [];
  const used: RunRecord[] = [];
  const at = metricsOf(record, checkpoint);
  const ref = record.reference;
  if (!ref || !ref.vanillaBalancedRunId) {
    return { ua: null, ra: null, used, problems: [`run ${record.runId} names no vanilla balanced run`] };
  }
  const accuracies: number[] = [];
  for (const id of [ref.vanillaBalancedRunId, ref.methodBalancedRunId]) {
    if (!id || used.some((u) => u.runId === id)) continue;
    const balanced = index.get(id);
    if (!balanced) {
      problems.push(`balanced run ${id} (named by ${record.runId}) not found or not finished`);
      continue;
    }
    const m = metricsOf(balanced, checkpoint);
    if (!m) {
      problems.push(`balanced run ${id} has no ${checkpoint} checkpoint metrics`);
      continue;
    }
    used.push(balanced);
    accuracies.push(m.top1);
  }
  if (problems.length > 0 || accuracies.length === 0 || !at) {
    if (!at) problems.push(`run ${record.runId} has no ${checkpoint} checkpoint metrics`);
    return { ua: null, ra: null, used, problems };
  }
  const ua = Math.max(...accuracies);
  return { ua, ra: (100 * at.top1) / ua, used, problems };
}

// ---------------------------------------------------------------------------------------------
// Tables 5 and 6

/** Rows of a section: from records, expected cells and (paper mode) every paper row. */
function sectionRows(g: SectionGroup, paperRows: Record<string, unknown> | null): RowSpec[] {
  const specs = new Map<string, RowSpec>();
  const add = (s: RowSpec) => {
    if (!specs.has(s.id)) specs.set(s.id, s);
  };
  for (const r of g.records) add(specOfRecord(r));
  for (const e of g.expected) add(specOfExpected(e));
  // A paper row already shown by a record or recipe row (e.g. focal (detach=true), the survey's
  // own focal setting) is not added a second time without params.
  const shownPaper = new Set([...specs.values()].map((s) => s.paper).filter(Boolean));
  if (paperRows) for (const row of SURVEY_ROWS) if (row.paper && paperRows[row.paper] && !shownPaper.has(row.paper)) add(rowSpec(row.methods[0], row.params ?? {}));
  return [...specs.values()];
}

function specOfRecord(r: RunRecord): RowSpec {
  return rowSpec(r.method.name, withTrainSampler(r.method.params, r.sampler, r.dataset.randAugment), r.method.family, r.table7);
}

function specOfExpected(e: ExpectedCell): RowSpec {
  return rowSpec(e.method, e.params ?? {}, undefined, e.table7);
}

interface CellInput {
  spec: RowSpec;
  epochs: number;
  records: RunRecord[];
  expected: ExpectedCell[];
}

/** Shared shape of Tables 5 and 6: rows × epoch budgets × per-budget metrics. */
function buildPerBudgetTable(
  table: 5 | 6,
  records: RunRecord[],
  options: TableOptions,
  metrics: string[],
  fill: (input: CellInput, ctx: FillContext) => Cell[],
): ResultTable[] {
  const checkpoint = options.checkpoint ?? 'last';
  const index = new RecordIndex(options.referenceRecords ?? records);
  const out: ResultTable[] = [];
  for (const g of sections(records, options.expected ?? [], options)) {
    // Expected stage-2 cells of Table 7 (a non-softmax stage-1 loss) are not Table 5/6 rows;
    // records of such runs still are (a number that exists is shown), in rows of their own.
    const expectedHere = g.expected.filter((e) => !e.table7 || e.table7.classifier === 'joint' || e.table7.stage1Loss === DECOUPLED_STAGE1_LOSS);
    const paperOn = Boolean(options.paper) && isImageNetLT(g.section.dataset);
    if (g.records.length === 0 && expectedHere.length === 0 && !paperOn) continue;
    const budgets = epochsOf(g.records, expectedHere, paperOn ? [90, 200] : []);
    const notes: string[] = [];
    const missing: MissingCell[] = [];
    const columns: Column[] = budgets.flatMap((e) => metrics.map((m) => ({ group: `${epochsText(e)}`, label: m })));
    const paperRows = paperOn ? (table === 5 ? options.paper!.table5 : options.paper!.table6) : null;
    const rows = groupRows(sectionRows({ ...g, expected: expectedHere }, paperRows), (spec) => {
      const cells: Cell[] = [];
      for (const epochs of budgets) {
        const where = `${spec.label} @ ${epochsText(epochs)}`;
        const whereCols = `${epochsText(epochs)}: ${metrics.join(', ')}`;
        const exp = expectedHere.filter((e) => e.epochs === epochs && specOfExpected(e).id === spec.id);
        const cellRecords = onePerSeed(
          g.records.filter((r) => r.epochs === epochs && specOfRecord(r).id === spec.id && metricsOf(r, checkpoint)),
          notes,
          where,
        );
        if (cellRecords.length === 0) {
          const recipes = recipesOf(exp);
          missing.push({ row: spec.label, where: whereCols, reason: 'no finished run', recipes });
          cells.push(...metrics.map(() => emptyCell()));
        } else {
          const groupFlags = cellGroupFlags(cellRecords, exp, notes, where, missing, spec.label, whereCols);
          cells.push(...fill({ spec, epochs, records: cellRecords, expected: exp }, { checkpoint, index, notes, missing, groupFlags, where }));
        }
        if (paperOn) {
          const from = cells.length - metrics.length;
          for (let i = 0; i < metrics.length; i++) {
            const value = spec.paper ? paperValue(table, options.paper!, spec.paper, epochs, metrics[i]) : null;
            cells[from + i] = withPaper(cells[from + i], value, true);
          }
        }
      }
      return { kind: 'row', id: spec.id, label: spec.label, method: spec.method, family: spec.family, cells };
    });
    const what = table === 5 ? ['Acc / UA / RA (%)', ...metrics.slice(3)].join(', ') : 'head / middle / tail accuracy (%)';
    out.push({
      table,
      title: `Table ${table}: ${what} — ${sectionLabel(g.section)}, ${checkpoint === 'last' ? 'last-epoch' : 'best-on-val'} checkpoint`,
      section: g.section,
      checkpoint,
      paper: paperOn,
      stub: 'Method',
      columns,
      rows,
      missing,
      notes: [...new Set(notes)],
    });
  }
  return out;
}

interface FillContext {
  checkpoint: Checkpoint;
  index: RecordIndex;
  notes: string[];
  missing: MissingCell[];
  groupFlags: CellFlag[];
  where: string;
}

function paperValue(table: 5 | 6, paper: PaperTables, row: string, epochs: number, metric: string): number | null {
  if (table === 5 && !['Acc', 'UA', 'RA'].includes(metric)) return null;
  if (table === 5) return paperTable5(paper, row, epochs, metric.toLowerCase() as 'acc' | 'ua' | 'ra');
  return paperTable6(paper, row, epochs, metric.toLowerCase() as 'head' | 'middle' | 'tail');
}

/** Table 5: Acc, UA, RA per method × epoch budget. */
export function buildTable5(records: RunRecord[], options: TableOptions = {}): ResultTable[] {
  const extra = options.extraColumns ?? [];
  return buildPerBudgetTable(5, records, options, ['Acc', 'UA', 'RA', ...extra.map((c) => EXTRA_COLUMN_LABELS[c])], ({ spec, epochs, records: rs, expected }, ctx) => {
    const acc = rs.map((r) => metricsOf(r, ctx.checkpoint)!.top1);
    const accCell = makeCell(acc, rs.map((r) => r.runId), rs, ctx.groupFlags, ctx.notes, `${ctx.where} Acc`);
    const ua: number[] = [];
    const ra: number[] = [];
    const used: RunRecord[] = [];
    const withRef: RunRecord[] = [];
    const problems: string[] = [];
    for (const r of rs) {
      const ref = referenceAccuracy(r, ctx.index, ctx.checkpoint);
      if (ref.ua !== null && ref.ra !== null) {
        ua.push(ref.ua);
        ra.push(ref.ra);
        used.push(...ref.used);
        withRef.push(r);
      } else {
        problems.push(...ref.problems);
      }
    }
    const refFlags: CellFlag[] = [...ctx.groupFlags];
    if (problems.length > 0) {
      ctx.missing.push({
        row: spec.label,
        where: `${epochsText(epochs)}: ${ua.length > 0 ? 'some seeds of ' : ''}UA, RA`,
        reason: problems.join('; '),
        recipes: recipesOf(expected),
      });
      if (ua.length > 0) refFlags.push('partial-reference');
    }
    const refIds = [...withRef.map((r) => r.runId), ...new Set(used.map((u) => u.runId))];
    const sources = [...withRef, ...used];
    const uaCell = makeCell(ua, refIds, sources, refFlags, ctx.notes, `${ctx.where} UA/RA`);
    const raCell = makeCell(ra, refIds, sources, refFlags, ctx.notes, `${ctx.where} UA/RA`);
    const extraCells = extra.map((col) => {
      const values = rs.map((r) => extraColumnValue(r, col, ctx.checkpoint));
      const held = rs.filter((_, i) => values[i] !== null);
      if (held.length < rs.length) {
        ctx.missing.push({
          row: spec.label,
          where: `${epochsText(epochs)}: ${EXTRA_COLUMN_LABELS[col]}${held.length > 0 ? ' (some seeds)' : ''}`,
          reason: `${rs.filter((_, i) => values[i] === null).map((r) => r.runId).join(', ')} ${extraColumnHint(col, ctx.checkpoint)}`,
          recipes: [],
        });
      }
      if (held.length === 0) return emptyCell();
      const cell: Cell = { decimals: EXTRA_COLUMN_DECIMALS[col], ...makeCell(values.filter((v): v is number => v !== null), held.map((r) => r.runId), held, ctx.groupFlags, ctx.notes, `${ctx.where} ${EXTRA_COLUMN_LABELS[col]}`) };
      // Seeds share the model: a spread of exactly 0 in params / MACs is no information.
      if (cell.stat && cell.stat.std === 0 && col !== 'ece' && col !== 'nll') cell.stat = { ...cell.stat, std: null };
      return cell;
    });
    return [accCell, uaCell, raCell, ...extraCells];
  });
}

/** Table 6: head / middle / tail accuracy per method × epoch budget. */
export function buildTable6(records: RunRecord[], options: TableOptions = {}): ResultTable[] {
  const groups = ['head', 'middle', 'tail'] as const;
  return buildPerBudgetTable(6, records, options, ['Head', 'Middle', 'Tail'], ({ records: rs }, ctx) =>
    groups.map((grp) => {
      const values = rs.map((r) => metricsOf(r, ctx.checkpoint)!.groups[grp]);
      if (values.every((v) => v === null)) return { stat: null, notApplicable: true, runIds: rs.map((r) => r.runId), flags: [] };
      const held = rs.filter((_, i) => values[i] !== null);
      return makeCell(values.filter((v): v is number => v !== null), held.map((r) => r.runId), held, ctx.groupFlags, ctx.notes, ctx.where);
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Table 7

/**
 * Table 7 coordinates of a record: its `table7` descriptor; else a decoupled method whose params
 * name the stage-1 loss (`stage1Loss`) trained with the instance sampler (the survey's setting);
 * else a plain one-stage method is the "joint" cell of its own loss. Balanced runs have none.
 */
export function table7Coordinates(r: { method: { name: string; params: Record<string, unknown> }; table7?: Table7Descriptor; dataset?: { balanced: boolean }; sampler?: string }): Table7Descriptor | null {
  if (r.dataset?.balanced) return null;
  if (r.table7) return r.table7;
  const classifier = DECOUPLED_CLASSIFIER[r.method.name];
  if (classifier) {
    const loss = r.method.params.stage1Loss;
    const sampler = r.method.params.stage1Sampler ?? 'instance';
    return typeof loss === 'string' && sampler === 'instance' ? { stage1Loss: loss, classifier } : null;
  }
  if (r.method.name.startsWith('decouple-')) return null;
  // Table 7 is the survey's instance-sampled setting: a re-sampled one-stage run is not its joint cell.
  if (r.sampler !== undefined && r.sampler !== 'instance') return null;
  return { stage1Loss: r.method.name, classifier: 'joint' };
}

/** Table 7: stage-1 loss × classifier scheme, all / head / middle / tail; one table per section and budget. */
export function buildTable7(records: RunRecord[], options: TableOptions = {}): ResultTable[] {
  const checkpoint = options.checkpoint ?? 'last';
  const subsets = [
    { key: 'all', label: 'All' },
    { key: 'head', label: 'Head' },
    { key: 'middle', label: 'Middle' },
    { key: 'tail', label: 'Tail' },
  ] as const;
  const out: ResultTable[] = [];
  for (const g of sections(records, options.expected ?? [], options)) {
    const paperOn = Boolean(options.paper) && isImageNetLT(g.section.dataset);
    const located = g.records
      .map((r) => ({ r, at: table7Coordinates(r) }))
      .filter((x): x is { r: RunRecord; at: Table7Descriptor } => x.at !== null);
    const expected = g.expected
      .map((e) => ({ e, at: table7Coordinates({ method: { name: e.method, params: e.params ?? {} }, ...(e.table7 ? { table7: e.table7 } : {}) }) }))
      .filter((x): x is { e: ExpectedCell; at: Table7Descriptor } => x.at !== null);
    // A loss gets a row when it has a stage-2 run or expected stage-2 cell, or is one of the survey's losses.
    const survey = new Set(TABLE7_LOSSES.map((l) => l.method));
    const stage2Losses = new Set([
      ...located.filter((x) => x.at.classifier !== 'joint').map((x) => x.at.stage1Loss),
      ...expected.filter((x) => x.at.classifier !== 'joint').map((x) => x.at.stage1Loss),
    ]);
    const losses = [...new Set([...located, ...expected].map((x) => x.at.stage1Loss))].filter((l) => stage2Losses.has(l) || (survey.has(l) && stage2Losses.size > 0));
    if (paperOn) for (const l of survey) if (!losses.includes(l)) losses.push(l);
    if (losses.length === 0) continue;
    const order = (l: string) => {
      const i = TABLE7_LOSSES.findIndex((x) => x.method === l);
      return i < 0 ? TABLE7_LOSSES.length : i;
    };
    losses.sort((a, b) => order(a) - order(b) || (a < b ? -1 : 1));
    const relevant = (epochs: number) =>
      located.some((x) => x.r.epochs === epochs && x.at.classifier !== 'joint') || expected.some((x) => x.e.epochs === epochs && x.at.classifier !== 'joint');
    const budgets = epochsOf(located.map((x) => x.r), expected.map((x) => x.e), paperOn ? [200] : []).filter((e) => relevant(e) || (paperOn && e === 200));
    const hasTau = located.some((x) => x.at.classifier === 'tau-norm') || expected.some((x) => x.at.classifier === 'tau-norm');
    const classifiers: string[] = [...TABLE7_CLASSIFIERS, ...(hasTau ? ['tau-norm'] : [])];
    for (const epochs of budgets) {
      const notes: string[] = [];
      const missing: MissingCell[] = [];
      const columns: Column[] = subsets.flatMap((s) => classifiers.map((c) => ({ group: s.label, label: CLASSIFIER_LABELS[c] })));
      const rows: Row[] = losses.map((loss) => {
        const paperKey = TABLE7_LOSSES.find((l) => l.method === loss)?.paper;
        const byClassifier = classifiers.map((c) => {
          const where = `${loss} / ${CLASSIFIER_LABELS[c]} @ ${epochsText(epochs)}`;
          const exp = expected.filter((x) => x.e.epochs === epochs && x.at.stage1Loss === loss && x.at.classifier === c).map((x) => x.e);
          const rs = onePerSeed(
            located.filter((x) => x.r.epochs === epochs && x.at.stage1Loss === loss && x.at.classifier === c && metricsOf(x.r, checkpoint)).map((x) => x.r),
            notes,
            where,
          );
          if (rs.length === 0) {
            missing.push({ row: loss, where: `${CLASSIFIER_LABELS[c]}: all, head, middle, tail`, reason: 'no finished run', recipes: recipesOf(exp) });
            return subsets.map(() => emptyCell());
          }
          const flags = cellGroupFlags(rs, exp, notes, where, missing, loss, `${CLASSIFIER_LABELS[c]}: all, head, middle, tail`);
          return subsets.map((s) => {
            const values = rs.map((r) => {
              const m = metricsOf(r, checkpoint)!;
              return s.key === 'all' ? m.top1 : m.groups[s.key];
            });
            if (values.every((v) => v === null)) return { stat: null, notApplicable: true, runIds: rs.map((r) => r.runId), flags: [] } as Cell;
            const held = rs.filter((_, i) => values[i] !== null);
            return makeCell(values.filter((v): v is number => v !== null), held.map((r) => r.runId), held, flags, notes, where);
          });
        });
        // byClassifier[c][subset] → cells in column order (subset-major).
        const cells: Cell[] = [];
        subsets.forEach((s, si) =>
          classifiers.forEach((c, ci) => {
            const cell = byClassifier[ci][si];
            cells.push(withPaper(cell, paperOn && paperKey ? paperTable7(options.paper!, paperKey, epochs, s.key, c) : null, paperOn));
          }),
        );
        return { kind: 'row', id: loss, label: loss, method: loss, family: familyOf(loss, {}), cells };
      });
      out.push({
        table: 7,
        title: `Table 7: stage-1 loss × classifier, accuracy (%) on all / head / middle / tail classes — ${sectionLabel(g.section)}, ${epochsText(epochs)}, ${checkpoint === 'last' ? 'last-epoch' : 'best-on-val'} checkpoint`,
        section: g.section,
        checkpoint,
        paper: paperOn,
        stub: 'Stage-1 loss',
        columns,
        rows,
        missing,
        notes: [...new Set(notes)],
      });
    }
  }
  return out;
}
