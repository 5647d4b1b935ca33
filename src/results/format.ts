/**
 * Renders `ResultTable`s: GitHub Markdown, CSV (tidy, one line per cell, through csv-stringify),
 * LaTeX (booktabs) and JSON. Numbers are shown with one decimal, as in the survey; several seeds
 * as "mean ± std". Empty cells stay empty and are listed below the table with the recipes that
 * would fill them; flagged cells carry a marker explained in the legend.
 */
import { stringify } from 'csv-stringify/sync';
import type { Cell, CellFlag, ResultTable } from './tables.js';

export type TableFormat = 'md' | 'csv' | 'tex' | 'json';

export const TABLE_FORMATS: TableFormat[] = ['md', 'csv', 'tex', 'json'];

/** Marker appended to a flagged cell. */
export const FLAG_MARKERS: Record<CellFlag, string> = {
  'mixed-versions': '†',
  'mixed-params': '‡',
  'missing-seeds': '*',
  'partial-reference': '§',
  'tuned-on-test': '¶',
  transductive: '◊',
  'other-precision': '°',
};

const FLAG_TEXT: Record<CellFlag, string> = {
  'mixed-versions': 'records from different code versions',
  'mixed-params': 'records trained with different method params',
  'missing-seeds': 'fewer training seeds than expected',
  'partial-reference': 'UA/RA from fewer seeds than Acc (balanced runs missing)',
  'tuned-on-test': 'validated on the test set (valSource: test, the CIFAR-LT literature\'s practice)',
  transductive: 'a post-hoc step read the unlabelled test images (transductive)',
  'other-precision': 'trained in reduced precision (bf16 / fp16), not fp32',
};

const NOT_APPLICABLE = '–';

export function formatTables(tables: ResultTable[], format: TableFormat): string {
  switch (format) {
    case 'md':
      return tables.map(toMarkdown).join('\n');
    case 'csv':
      return toCsv(tables);
    case 'tex':
      return tables.map(toLatex).join('\n');
    case 'json':
      return `${JSON.stringify({ tables }, roundNumbers, 2)}\n`;
  }
}

/**
 * Machine output (CSV, JSON) keeps two decimals: accuracies are percentages measured on at most a
 * few ten thousand images, so further digits are float noise (82.47500000000001 → 82.48).
 */
export function round2(x: number): number {
  const r = Math.round(x * 100) / 100;
  return Object.is(r, -0) ? 0 : r;
}

/** JSON.stringify replacer: every non-integer number rounded to two decimals. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? round2(value) : value;
}

// ---------------------------------------------------------------------------------------------
// Shared cell text

function fixed(x: number, decimals = 1): string {
  // Avoid "-0.0" for tiny negative values.
  const s = x.toFixed(decimals);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** "45.5", "45.5 ± 0.3", "" (missing), "–" (not applicable); plus flag markers. */
export function cellText(cell: Cell, pm = '±'): string {
  if (cell.notApplicable) return NOT_APPLICABLE;
  if (!cell.stat) return '';
  const { mean, std } = cell.stat;
  const base = std === null ? fixed(mean, cell.decimals) : `${fixed(mean, cell.decimals)} ${pm} ${fixed(std, cell.decimals)}`;
  return base + cell.flags.map((f) => FLAG_MARKERS[f]).join('');
}

function paperText(cell: Cell): string {
  return cell.paper === null || cell.paper === undefined ? '' : fixed(cell.paper);
}

function deltaText(cell: Cell): string {
  if (cell.delta === null || cell.delta === undefined) return '';
  const s = fixed(cell.delta);
  return cell.delta >= 0 || s === '0.0' ? `+${s}` : s;
}

/** Leaf column headers and per-row cell strings; with the paper on, each cell shows "ours (paper, Δ)". */
interface Grid {
  groups: Array<{ label: string; span: number }>;
  leaves: string[];
  body: Array<{ group: string } | { label: string; cells: string[] }>;
}

function grid(t: ResultTable, text: (c: Cell) => string, withPaperText: (ours: string, paper: string, delta: string) => string): Grid {
  const groups: Grid['groups'] = [];
  for (const c of t.columns) {
    const last = groups[groups.length - 1];
    if (last && last.label === c.group) last.span += 1;
    else groups.push({ label: c.group, span: 1 });
  }
  const leaves = t.columns.map((c) => c.label);
  const show = (c: Cell) => {
    const ours = text(c);
    const paper = paperText(c);
    return t.paper && paper !== '' ? withPaperText(ours, paper, deltaText(c)) : ours;
  };
  const body: Grid['body'] = t.rows.map((r) => (r.kind === 'group' ? { group: r.label } : { label: r.label, cells: r.cells.map(show) }));
  return { groups, leaves, body };
}

/** "46.0 (45.5, +0.5)"; just "(45.5)" when only the paper has the value. */
function inlinePaper(ours: string, paper: string, delta: string): string {
  return ours === '' ? `(${paper})` : `${ours} (${paper}, ${delta})`;
}

function usedFlags(t: ResultTable): CellFlag[] {
  const seen = new Set<CellFlag>();
  for (const r of t.rows) if (r.kind === 'row') for (const c of r.cells) for (const f of c.flags) seen.add(f);
  return (Object.keys(FLAG_MARKERS) as CellFlag[]).filter((f) => seen.has(f));
}

function legend(t: ResultTable): string[] {
  const lines = usedFlags(t).map((f) => `${FLAG_MARKERS[f]} ${FLAG_TEXT[f]}`);
  const na = t.rows.some((r) => r.kind === 'row' && r.cells.some((c) => c.notApplicable));
  if (na) lines.push(`${NOT_APPLICABLE} no classes in this group`);
  return lines;
}

/**
 * Empty cells with a recipe or a specific reason are listed one per line; the plain "no run and
 * no recipe known" ones (most cells of a partial study) are folded into one line.
 */
export function splitMissing(t: ResultTable): { listed: ResultTable['missing']; unknown: ResultTable['missing'] } {
  const isUnknown = (m: ResultTable['missing'][number]) => m.recipes.length === 0 && m.reason === 'no finished run';
  return { listed: t.missing.filter((m) => !isUnknown(m)), unknown: t.missing.filter(isUnknown) };
}

function unknownLine(unknown: ResultTable['missing']): string {
  const where = unknown.map((m) => `${m.row} (${m.where.split(':')[0]})`);
  return `Empty, no run and no recipe known (${unknown.length}): ${where.join(', ')}.`;
}

function missingLine(m: ResultTable['missing'][number]): string {
  if (m.recipes.length === 0) return `${m.row} — ${m.where}: ${m.reason}`;
  return `${m.row} — ${m.where}: ${m.reason}; run ${m.recipes.map((r) => `\`lt-bench run ${r}\``).join(' or ')}`;
}

// ---------------------------------------------------------------------------------------------
// Markdown (GitHub): one header row, so the column group is folded into each header.

function mdEscape(s: string): string {
  return s.replace(/\|/g, '\\|');
}

export function toMarkdown(t: ResultTable): string {
  const g = grid(t, (c) => cellText(c), inlinePaper);
  const headers = t.columns.map((c) => `${c.group} ${c.label}`);
  const lines = [`### ${mdEscape(t.title)}`, ''];
  lines.push(`| ${[t.stub, ...headers].map(mdEscape).join(' | ')} |`);
  lines.push(`| :-- | ${headers.map(() => '--:').join(' | ')} |`);
  for (const row of g.body) {
    if ('group' in row) lines.push(`| ***${mdEscape(row.group)}*** | ${headers.map(() => '').join(' | ')} |`);
    else lines.push(`| ${[row.label, ...row.cells].map(mdEscape).join(' | ')} |`);
  }
  lines.push('');
  const foot: string[] = [];
  if (t.rows.some((r) => r.kind === 'row' && r.cells.some((c) => c.stat && c.stat.n > 1))) foot.push('Several seeds: mean ± sample std.');
  if (t.paper) foot.push('Paper values (ImageNet-LT, ResNeXt-50) and the difference in parentheses: ours (paper, Δ).');
  foot.push(...legend(t));
  if (foot.length > 0) lines.push(foot.join(' · '), '');
  const { listed, unknown } = splitMissing(t);
  if (listed.length > 0) {
    lines.push(`Missing (${listed.length}):`, '');
    for (const m of listed) lines.push(`- ${mdEscape(missingLine(m))}`);
    lines.push('');
  }
  if (unknown.length > 0) lines.push(mdEscape(unknownLine(unknown)), '');
  if (t.notes.length > 0) {
    lines.push('Notes:', '');
    for (const n of t.notes) lines.push(`- ${mdEscape(n)}`);
    lines.push('');
  }
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------
// CSV: tidy, one line per (row, column), numbers unrounded, for spreadsheets and scripts.

export const CSV_COLUMNS = [
  'table',
  'dataset',
  'backbone',
  'profile',
  'imbalance_ratio',
  'checkpoint',
  'family',
  'row',
  'column_group',
  'column',
  'mean',
  'std',
  'n',
  'paper',
  'delta',
  'flags',
  'runs',
] as const;

export function toCsv(tables: ResultTable[]): string {
  const records: Array<Array<string | number>> = [];
  for (const t of tables) {
    for (const r of t.rows) {
      if (r.kind !== 'row') continue;
      r.cells.forEach((c, i) => {
        const col = t.columns[i];
        records.push([
          t.table,
          t.section.dataset,
          t.section.backbone ?? '',
          t.section.profile ?? '',
          t.section.imbalanceRatio === null ? '' : round2(t.section.imbalanceRatio),
          t.checkpoint,
          r.family,
          r.label,
          col.group,
          col.label,
          c.stat ? round2(c.stat.mean) : '',
          c.stat && c.stat.std !== null ? round2(c.stat.std) : '',
          c.stat ? c.stat.n : 0,
          c.paper == null ? '' : round2(c.paper),
          c.delta == null ? '' : round2(c.delta),
          [...c.flags, ...(c.notApplicable ? ['not-applicable'] : [])].join(' '),
          c.runIds.join(' '),
        ]);
      });
    }
  }
  return stringify(records, { header: true, columns: [...CSV_COLUMNS] });
}

// ---------------------------------------------------------------------------------------------
// LaTeX (booktabs)

const TEX_MARKERS: Record<string, string> = { '†': '\\dag', '‡': '\\ddag', '*': '*', '§': '\\S' };

export function texEscape(s: string): string {
  return s
    .replace(/\\/g, '\\textbackslash{}')
    .replace(/([&%$#_{}])/g, '\\$1')
    .replace(/~/g, '\\textasciitilde{}')
    .replace(/\^/g, '\\textasciicircum{}')
    .replace(/τ/g, '$\\tau$')
    .replace(/ρ/g, '$\\rho$')
    .replace(/—/g, '---')
    .replace(/–/g, '--')
    .replace(/×/g, '$\\times$');
}

function texCell(c: Cell): string {
  if (c.notApplicable) return '--';
  if (!c.stat) return '';
  const { mean, std } = c.stat;
  const base = std === null ? fixed(mean) : `${fixed(mean)} $\\pm$ ${fixed(std)}`;
  const marks = c.flags.map((f) => TEX_MARKERS[FLAG_MARKERS[f]]).join('');
  return marks ? `${base}\\textsuperscript{${marks}}` : base;
}

export function toLatex(t: ResultTable): string {
  const g = grid(t, texCell, (ours, paper, delta) =>
    ours === '' ? `{\\scriptsize(${paper})}` : `${ours} {\\scriptsize(${paper}, ${delta.replace('-', '$-$')})}`,
  );
  const width = 1 + g.leaves.length;
  const out: string[] = [];
  out.push(`% ${t.title}`);
  out.push('\\begin{table}[t]', '  \\centering', `  \\caption{${texEscape(t.title)}}`);
  out.push(`  \\begin{tabular}{l${'r'.repeat(g.leaves.length)}}`, '    \\toprule');
  let col = 2;
  const spans: string[] = [];
  const rules: string[] = [];
  for (const grp of g.groups) {
    spans.push(`\\multicolumn{${grp.span}}{c}{${texEscape(grp.label)}}`);
    rules.push(`\\cmidrule(lr){${col}-${col + grp.span - 1}}`);
    col += grp.span;
  }
  out.push(`    & ${spans.join(' & ')} \\\\`);
  out.push(`    ${rules.join(' ')}`);
  out.push(`    ${[texEscape(t.stub), ...g.leaves.map(texEscape)].join(' & ')} \\\\`);
  out.push('    \\midrule');
  let first = true;
  for (const row of g.body) {
    if ('group' in row) {
      if (!first) out.push('    \\addlinespace');
      out.push(`    \\multicolumn{${width}}{l}{\\textit{${texEscape(row.group)}}} \\\\`);
    } else {
      out.push(`    ${[texEscape(row.label), ...row.cells.map((c) => (c.includes('$') || c.includes('\\') ? c : texEscape(c)))].join(' & ')} \\\\`);
    }
    first = false;
  }
  out.push('    \\bottomrule', '  \\end{tabular}', '\\end{table}');
  const foot = legend(t).map((l) => {
    const marker = l.split(' ')[0];
    return TEX_MARKERS[marker] ? `${TEX_MARKERS[marker]} ${l.slice(marker.length + 1)}` : l;
  });
  if (t.paper) out.push('% in parentheses: the paper\'s value (ImageNet-LT, ResNeXt-50) and our difference to it');
  for (const l of foot) out.push(`% ${l}`);
  const { listed, unknown } = splitMissing(t);
  for (const m of listed) out.push(`% missing: ${missingLine(m)}`);
  if (unknown.length > 0) out.push(`% ${unknownLine(unknown)}`);
  for (const n of t.notes) out.push(`% note: ${n}`);
  return `${out.join('\n')}\n`;
}
