/**
 * The survey's row order and grouping for Tables 5–7, in lt-bench's method names.
 *
 * Zhang et al., "Deep Long-Tailed Learning: A Survey", TPAMI 2023 (arXiv 2110.04596 v1 numbering):
 * Table 5 / 6 list the baseline, then class re-balancing (CR), information augmentation (IA) and
 * module improvement (MI) methods in this order. lt-bench's extra methods (class-balanced loss,
 * logit adjustment, the other decoupled classifiers) are slotted beside their closest relative.
 * `paper` is the row's key in `survey-tables.json` (table5 / table6), where the paper has the row.
 */

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
  /** lt-bench method name(s) (registry keys); the first is the canonical one. */
  methods: string[];
  /** Param values that select this row (e.g. the decoupled methods' stage-1 sampler). */
  params?: Record<string, unknown>;
  family: FamilyId;
  /** Key of the row in survey-tables.json table5/table6, when the paper has it. */
  paper?: string;
}

/**
 * Param keys that split one method into several rows. Decoupled methods are reported per stage-1
 * sampler (IB / CB / SR / PB in the survey); every other param difference inside a cell is flagged
 * instead of split, because params such as the DRW epoch legitimately change with the budget.
 */
export const DISTINGUISHING_PARAMS: Record<string, string[]> = {
  'decouple-crt': ['stage1Sampler', 'stage1Loss'],
  'decouple-lws': ['stage1Sampler', 'stage1Loss'],
  'decouple-tau-norm': ['stage1Sampler', 'stage1Loss'],
  'decouple-ncm': ['stage1Sampler', 'stage1Loss'],
  'logit-adjustment': ['mode'],
  'ldam-drw': ['variant', 'drw'],
  'focal': ['detach'],
  'class-balanced': ['lossType'],
};

/** Distinguishing param values that are the default and so do not split a row. */
export const DEFAULT_PARAM_VALUES: Record<string, unknown> = { stage1Loss: 'softmax', mode: 'loss', variant: 'ldam-drw', drw: true, detach: false, lossType: 'softmax', sampler: 'instance' };

/**
 * The keys that split a method into rows: its own distinguishing params, plus the training sampler
 * (`sampler`, from the record or recipe, not a method param): softmax trained with the class-aware
 * sampler is another row than softmax. Decoupled methods carry it as `stage1Sampler` already.
 */
export function distinguishingKeys(method: string): string[] {
  const own = DISTINGUISHING_PARAMS[method] ?? [];
  return own.includes('stage1Sampler') ? own : [...own, 'sampler'];
}

/** A method's params plus the run's training sampler as the pseudo-param `sampler` (see distinguishingKeys). */
export function withTrainSampler(params: Record<string, unknown>, sampler: string | undefined | null): Record<string, unknown> {
  return sampler && sampler !== 'instance' ? { ...params, sampler } : params;
}

/** Short names the survey uses for the stage-1 samplers. */
export const SAMPLER_ABBREVIATIONS: Record<string, string> = {
  instance: 'IB',
  'class-balanced': 'CB',
  'square-root': 'SR',
  progressive: 'PB',
  reversed: 'RS',
};

const decoupled = (method: string, sampler: string, paper?: string): LayoutRow => ({
  methods: [method],
  params: { stage1Sampler: sampler },
  family: 'MI',
  ...(paper ? { paper } : {}),
});

/** Table 5 / 6 rows in the survey's order. */
export const SURVEY_ROWS: LayoutRow[] = [
  { methods: ['softmax'], family: 'baseline', paper: 'Softmax' },
  { methods: ['weighted-softmax'], family: 'CR', paper: 'Weighted Softmax' },
  { methods: ['focal'], family: 'CR', paper: 'Focal loss' },
  { methods: ['class-balanced'], family: 'CR' },
  { methods: ['ldam-drw', 'ldam'], family: 'CR', paper: 'LDAM' },
  { methods: ['esql'], family: 'CR', paper: 'ESQL' },
  { methods: ['uno-ic'], family: 'CR', paper: 'UNO-IC' },
  { methods: ['balanced-softmax'], family: 'CR', paper: 'Balanced Softmax' },
  { methods: ['logit-adjustment'], family: 'CR' },
  { methods: ['lade'], family: 'CR', paper: 'LADE' },
  { methods: ['ssp'], family: 'IA', paper: 'SSP' },
  { methods: ['rsg'], family: 'IA', paper: 'RSG' },
  { methods: ['oltr'], family: 'MI', paper: 'OLTR' },
  { methods: ['paco'], family: 'MI', paper: 'PaCo' },
  { methods: ['de-confound'], family: 'MI', paper: 'De-confound' },
  decoupled('decouple-crt', 'instance', 'Decouple-IB-CRT'),
  decoupled('decouple-crt', 'class-balanced', 'Decouple-CB-CRT'),
  decoupled('decouple-crt', 'square-root', 'Decouple-SR-CRT'),
  decoupled('decouple-crt', 'progressive', 'Decouple-PB-CRT'),
  decoupled('decouple-lws', 'instance'),
  decoupled('decouple-tau-norm', 'instance'),
  decoupled('decouple-ncm', 'instance'),
  { methods: ['mislas'], family: 'MI', paper: 'MiSLAS' },
  { methods: ['bbn'], family: 'MI', paper: 'BBN' },
  { methods: ['lfme'], family: 'MI', paper: 'LFME' },
  { methods: ['reslt'], family: 'MI', paper: 'ResLT' },
  { methods: ['ride'], family: 'MI', paper: 'RIDE' },
  { methods: ['sade', 'tade'], family: 'MI', paper: 'TADE' },
];

/** Table 7: the stage-1 losses in the survey's order, with their survey-tables.json keys. */
export const TABLE7_LOSSES: Array<{ method: string; paper: string }> = [
  { method: 'softmax', paper: 'Softmax' },
  { method: 'focal', paper: 'Focal loss' },
  { method: 'esql', paper: 'ESQL' },
  { method: 'balanced-softmax', paper: 'Balanced Softmax' },
];

export const TABLE7_CLASSIFIERS = ['joint', 'ncm', 'crt', 'lws'] as const;

/** Column labels of the classifier schemes (the survey's spelling). */
export const CLASSIFIER_LABELS: Record<string, string> = {
  joint: 'Joint',
  ncm: 'NCM',
  crt: 'cRT',
  lws: 'LWS',
  'tau-norm': 'τ-norm',
};

/** Decoupled methods and the classifier scheme their stage 2 trains. */
export const DECOUPLED_CLASSIFIER: Record<string, 'ncm' | 'crt' | 'lws' | 'tau-norm'> = {
  'decouple-ncm': 'ncm',
  'decouple-crt': 'crt',
  'decouple-lws': 'lws',
  'decouple-tau-norm': 'tau-norm',
};

/** Whether a dataset name is ImageNet-LT (the only dataset the paper's numbers describe). */
export function isImageNetLT(datasetName: string): boolean {
  return datasetName.toLowerCase().replace(/[^a-z0-9]/g, '').startsWith('imagenetlt');
}

function shown(key: string, value: unknown): boolean {
  return value !== undefined && value !== DEFAULT_PARAM_VALUES[key];
}

/** The row key of a method + params: the method name plus the values of its distinguishing params. */
export function rowKey(method: string, params: Record<string, unknown>): string {
  const keys = distinguishingKeys(method);
  const parts = keys.filter((k) => shown(k, params[k])).map((k) => `${k}=${String(params[k])}`);
  return parts.length > 0 ? `${method}[${parts.join(',')}]` : method;
}

/** Display label of a row: the method name, with the survey's sampler abbreviation when it has one. */
export function rowLabel(method: string, params: Record<string, unknown>): string {
  const keys = distinguishingKeys(method);
  const parts = keys
    .filter((k) => shown(k, params[k]))
    .map((k) =>
      k === 'stage1Sampler' || k === 'sampler' ? SAMPLER_ABBREVIATIONS[String(params[k])] ?? String(params[k]) : k === 'stage1Loss' ? String(params[k]) : `${k}=${String(params[k])}`,
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
