/**
 * The survey's row order and grouping for Tables 5–7, built from the methods' own metadata
 * (`Method.table`, src/methods/types.ts): no list of lt-bench method names is kept here.
 *
 * Zhang et al., "Deep Long-Tailed Learning: A Survey", TPAMI 2023 (arXiv 2110.04596 v1 numbering):
 * Table 5 / 6 list the baseline, then class re-balancing (CR), information augmentation (IA) and
 * module improvement (MI) methods in this order. lt-bench's extra methods (class-balanced loss,
 * logit adjustment, the other decoupled classifiers) name the paper row they follow.
 * `paper` is the row's key in `survey-tables.json` (table5 / table6), where the paper has the row.
 */
import { SAMPLER_ALIASES } from '../data/samplers.js';
import { findMethod, listMethods } from '../methods/registry.js';
import type { Stage2Strategy } from './types.js';


export type FamilyId = 'baseline' | 'CR' | 'IA' | 'MI' | 'other';

export const FAMILY_LABELS: Record<FamilyId, string> = {
  baseline: 'Baseline',
  CR: 'Class re-balancing',
  IA: 'Information augmentation',
  MI: 'Module improvement',
  other: 'Other',
};

export const FAMILY_ORDER: FamilyId[] = ['baseline', 'CR', 'IA', 'MI', 'other'];

export interface LayoutRow {
  /** lt-bench method name(s) (the registry key, then table aliases); for a paper row no registered method fills, the paper's key. */
  methods: string[];
  /** Param values that select this row (e.g. the decoupled methods' stage-1 sampler). */
  params?: Record<string, unknown>;
  family: FamilyId;
  /** Key of the row in survey-tables.json table5/table6, when the paper has it. */
  paper?: string;
}

/**
 * The rows of the paper's Tables 5 / 6 (their survey-tables.json keys) in the paper's order, with
 * the paper's family of each. These are facts about the paper, not lt-bench names: a method claims
 * its row in its own file (`table.rows[].paper`); a row nobody claims yet is still listed under
 * the paper's name (with `--paper`), so a new method never edits this list.
 */
export const PAPER_ROWS: ReadonlyArray<{ paper: string; family: FamilyId }> = [
  { paper: 'Softmax', family: 'baseline' },
  ...['Weighted Softmax', 'Focal loss', 'LDAM', 'ESQL', 'UNO-IC', 'Balanced Softmax', 'LADE'].map((paper) => ({ paper, family: 'CR' as const })),
  ...['SSP', 'RSG'].map((paper) => ({ paper, family: 'IA' as const })),
  ...['OLTR', 'PaCo', 'De-confound', 'Decouple-IB-CRT', 'Decouple-CB-CRT', 'Decouple-SR-CRT', 'Decouple-PB-CRT', 'MiSLAS', 'BBN', 'LFME', 'ResLT', 'RIDE', 'TADE'].map((paper) => ({ paper, family: 'MI' as const })),
];

/** Table 7's stage-1 losses, as the paper's row keys (survey-tables.json table7), in its order. */
const TABLE7_PAPER_ROWS = ['Softmax', 'Focal loss', 'ESQL', 'Balanced Softmax'];

function asFamily(f: string): FamilyId {
  return (FAMILY_ORDER as string[]).includes(f) ? (f as FamilyId) : 'other';
}

/**
 * Table 5 / 6 rows in the survey's order: the paper's rows, each filled by the method that claims
 * it, and the rows the paper lacks placed after the paper row they name (registry order among
 * rows after the same one) or at the end of their family.
 */
function buildSurveyRows(): LayoutRow[] {
  const rows: LayoutRow[] = PAPER_ROWS.map((p) => ({ methods: [p.paper], family: p.family, paper: p.paper }));
  const claimed = new Set<string>();
  const tail: LayoutRow[] = [];
  // Rows inserted after a paper row, so later ones go after earlier ones.
  const insertedAfter = new Map<string, number>();
  for (const m of listMethods()) {
    const names = [m.name, ...(m.table?.aliases ?? [])];
    for (const r of m.table?.rows ?? [{}]) {
      const row: LayoutRow = { methods: names, family: asFamily(m.family), ...(r.params ? { params: r.params } : {}) };
      const at = r.paper ? rows.findIndex((x) => x.paper === r.paper) : -1;
      if (r.paper && at >= 0) {
        if (claimed.has(r.paper)) throw new Error(`method ${m.name}: the paper row "${r.paper}" is already claimed by ${rows[at].methods[0]}`);
        claimed.add(r.paper);
        rows[at] = { ...row, paper: r.paper };
      } else if (r.after && rows.some((x) => x.paper === r.after)) {
        const anchor = rows.findIndex((x) => x.paper === r.after);
        const k = insertedAfter.get(r.after) ?? 0;
        rows.splice(anchor + 1 + k, 0, row);
        insertedAfter.set(r.after, k + 1);
      } else {
        tail.push(r.paper ? { ...row, paper: r.paper } : row);
      }
    }
  }
  return [...rows, ...tail];
}

/** Table 5 / 6 rows in the survey's order (built from the method registry's metadata). */
export const SURVEY_ROWS: LayoutRow[] = buildSurveyRows();

/**
 * The params that split a method into rows and the value of each that does not split (see
 * TableMeta.splitBy), plus the training sampler (`sampler`, from the record or recipe, not a
 * method param; default instance) unless the method says a sampler does not split its rows:
 * softmax trained with the class-aware sampler is another row than softmax.
 */
function splitSpec(method: string): Record<string, unknown> {
  const m = findMethod(method);
  const own = m?.table?.splitBy ?? {};
  // RandAugment always splits: the survey reports it as rows of their own (its Table 9).
  return (m?.table?.samplerSplits ?? true) ? { ...own, sampler: 'instance', randAugment: null } : { ...own, randAugment: null };
}

/** The keys that split a method into rows (see splitSpec). */
export function distinguishingKeys(method: string): string[] {
  return Object.keys(splitSpec(method));
}

/** The value of a distinguishing key that does not split the method's row (undefined: every value splits). */
export function splitDefault(method: string, key: string): unknown {
  const v = splitSpec(method)[key];
  return v === null ? undefined : v;
}

/**
 * A method's params plus the run's training sampler as the pseudo-param `sampler`, and its
 * RandAugment setting as `randAugment` ("n2 m10"), see distinguishingKeys.
 */
export function withTrainSampler(
  params: Record<string, unknown>,
  sampler: string | undefined | null,
  randAugment?: { n: number; m: number } | null,
): Record<string, unknown> {
  const withSampler = sampler && sampler !== 'instance' ? { ...params, sampler } : params;
  return randAugment ? { ...withSampler, randAugment: randAugmentLabel(randAugment) } : withSampler;
}

/** How a RandAugment setting shows in row keys and labels. */
export function randAugmentLabel(r: { n: number; m: number }): string {
  return `n${r.n} m${r.m}`;
}

/** Short names the survey uses for the samplers (the one alias map, src/data/samplers.ts). */
export const SAMPLER_ABBREVIATIONS: Record<string, string> = Object.fromEntries(Object.entries(SAMPLER_ALIASES).map(([alias, name]) => [name, alias]));

/** Table 7: the stage-1 losses in the survey's order, with their survey-tables.json keys. */
export const TABLE7_LOSSES: Array<{ method: string; paper: string }> = TABLE7_PAPER_ROWS.flatMap((paper) => {
  const row = SURVEY_ROWS.find((r) => r.paper === paper && findMethod(r.methods[0]));
  return row ? [{ method: row.methods[0], paper }] : [];
});

/** The stage-1 loss of the survey's decoupled rows (Table 5's Decouple-*: softmax CE). */
export const DECOUPLED_STAGE1_LOSS = 'softmax';

export const TABLE7_CLASSIFIERS = ['joint', 'ncm', 'crt', 'lws'] as const;

/** Column labels of the classifier schemes (the survey's spelling). */
export const CLASSIFIER_LABELS: Record<string, string> = {
  joint: 'Joint',
  ncm: 'NCM',
  crt: 'cRT',
  lws: 'LWS',
  'tau-norm': 'τ-norm',
};

/** Decoupled methods and the classifier scheme their stage 2 trains (from each method's `stages`). */
export const DECOUPLED_CLASSIFIER: Record<string, Stage2Strategy> = Object.fromEntries(
  listMethods().flatMap((m) => (m.stages ?? []).flatMap((s) => (s.kind === 'classifier' ? [[m.name, s.strategy] as const] : []))),
);

/** Whether a dataset name is ImageNet-LT (the only dataset the paper's numbers describe). */
export function isImageNetLT(datasetName: string): boolean {
  return datasetName.toLowerCase().replace(/[^a-z0-9]/g, '').startsWith('imagenetlt');
}

function shown(method: string, key: string, value: unknown): boolean {
  return value !== undefined && value !== splitDefault(method, key);
}

/** The row key of a method + params: the method name plus the values of its distinguishing params. */
export function rowKey(method: string, params: Record<string, unknown>): string {
  const keys = distinguishingKeys(method);
  const parts = keys.filter((k) => shown(method, k, params[k])).map((k) => `${k}=${String(params[k])}`);
  return parts.length > 0 ? `${method}[${parts.join(',')}]` : method;
}

/** Display label of a row: the method name, with the survey's sampler abbreviation when it has one. */
export function rowLabel(method: string, params: Record<string, unknown>): string {
  const keys = distinguishingKeys(method);
  const parts = keys
    .filter((k) => shown(method, k, params[k]))
    .map((k) =>
      k === 'stage1Sampler' || k === 'sampler'
        ? SAMPLER_ABBREVIATIONS[String(params[k])] ?? String(params[k])
        : k === 'stage1Loss'
          ? String(params[k])
          : k === 'randAugment'
            ? `RandAugment ${String(params[k])}`
            : `${k}=${String(params[k])}`,
    );
  return parts.length > 0 ? `${method} (${parts.join(', ')})` : method;
}

/** The survey layout row a method + params belongs to, if any. */
export function findLayoutRow(method: string, params: Record<string, unknown>): LayoutRow | undefined {
  return SURVEY_ROWS.find(
    (row) => row.methods.includes(method) && Object.entries(row.params ?? {}).every(([k, v]) => params[k] === v),
  );
}

/** Position of a row in the survey order (layout rows first, in order; unknown rows after, by key). */
export function layoutIndex(method: string, params: Record<string, unknown>): number {
  const row = findLayoutRow(method, params);
  return row ? SURVEY_ROWS.indexOf(row) : SURVEY_ROWS.length;
}

/** The family a row belongs to: the layout's, else the record's, else "other". */
export function familyOf(method: string, params: Record<string, unknown>, recordFamily?: string): FamilyId {
  const row = findLayoutRow(method, params);
  if (row) return row.family;
  if (recordFamily && (FAMILY_ORDER as string[]).includes(recordFamily)) return recordFamily as FamilyId;
  return 'other';
}
