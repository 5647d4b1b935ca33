/**
 * `lt-bench plot`: the figures from run records: Fig. 4 (accuracy vs relative accuracy), per-class
 * accuracy vs training count, training curves from epochs.jsonl, and reliability diagrams (from
 * the records' calibration bins). SVG and PNG (sharp).
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import {
  accuracyVsRelativeAccuracy,
  buildTable5,
  checkOutputDir,
  epochsText,
  loadEpochs,
  loadPaperTables,
  perClassAccuracyPlot,
  perClassSeries,
  reliabilityDiagram,
  reliabilitySeries,
  rowLabel,
  runDir,
  sectionLabel,
  trainingCurvesPlot,
  writeFigure,
  type Checkpoint,
  type CurveSeries,
  type PaperTables,
  type RunRecord,
  DEFAULT_REHEARSAL_RESULTS,
  ignoredNote,
  rehearsalDatasetName,
  selectRecords,
} from '../index.js';
import { choice, DEFAULT_PAPER_FILE, DEFAULT_RESULTS_DIR, loadForCommand } from './results-common.js';
import { commonOptions } from './options.js';

const KINDS = ['fig4', 'per-class', 'curves', 'reliability', 'all'] as const;
type Kind = (typeof KINDS)[number];

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

export interface FigureOptions {
  checkpoint?: Checkpoint;
  paper?: PaperTables | null;
  kinds?: Kind[];
  png?: boolean;
  /** Where the runs' epochs.jsonl live (for training curves). */
  resultsDir: string;
}

/**
 * Writes every figure for the given records into `outDir`: per dataset section, Fig. 4 and, per
 * epoch budget, per-class accuracy and training curves. Returns the files written.
 */
export async function writeAllFigures(records: RunRecord[], outDir: string, options: FigureOptions): Promise<string[]> {
  const kinds = options.kinds ?? ['fig4', 'per-class', 'curves', 'reliability'];
  const written: string[] = [];
  const png = options.png ?? true;
  if (kinds.includes('fig4')) {
    for (const t of buildTable5(records, { checkpoint: options.checkpoint, paper: options.paper ?? null })) {
      const fig = accuracyVsRelativeAccuracy(t, { title: `Accuracy vs relative accuracy — ${sectionLabel(t.section)}` });
      written.push(...(await writeFigure(fig, join(outDir, `fig4-${slug(sectionLabel(t.section))}`), { png })));
    }
  }
  const lt = records.filter((r) => !r.dataset.balanced);
  const groups = new Map<string, RunRecord[]>();
  for (const r of lt) {
    const key = `${r.dataset.name} · ${r.backbone} · ${epochsText(r.epochs)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  for (const [key, rs] of groups) {
    if (kinds.includes('per-class')) {
      const series = perClassSeries(rs, options.checkpoint ?? 'last');
      if (series.length > 0) {
        const fig = perClassAccuracyPlot(series, { thresholds: rs[0].dataset.thresholds, title: `Per-class accuracy vs training images — ${key}` });
        written.push(...(await writeFigure(fig, join(outDir, `per-class-${slug(key)}`), { png })));
      }
    }
    if (kinds.includes('reliability')) {
      const series = reliabilitySeries(rs, options.checkpoint ?? 'last');
      if (series.length > 0) {
        const fig = reliabilityDiagram(series, { title: `Reliability diagrams — ${key}` });
        written.push(...(await writeFigure(fig, join(outDir, `reliability-${slug(key)}`), { png })));
      }
    }
    if (kinds.includes('curves')) {
      const curves: CurveSeries[] = [];
      for (const r of rs) {
        const { lines } = await loadEpochs(runDir(options.resultsDir, r.runId));
        if (lines.length > 0) curves.push({ label: `${rowLabel(r.method.name, r.method.params)} (seed ${r.seeds.train})`, lines });
      }
      if (curves.length > 0) {
        const fig = trainingCurvesPlot(curves, { title: `Training curves — ${key}` });
        written.push(...(await writeFigure(fig, join(outDir, `curves-${slug(key)}`), { png })));
      }
    }
  }
  return written;
}

interface PlotOpts {
  results: string;
  out: string;
  kind: Kind;
  dataset?: string;
  epochs?: string;
  png: boolean;
  paper: boolean;
  paperFile: string;
  checkpoint: Checkpoint;
  rehearse: boolean;
}

export function register(program: Command): void {
  commonOptions(program.command('plot'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('draw the figures (SVG + PNG) from run records: fig4, per-class, curves, reliability')
    .option('--out <dir>', 'output directory', 'figures')
    .option('--kind <kind>', `which figures: ${KINDS.join(', ')}`, choice(KINDS), 'all')
    .option('--dataset <name>', 'only this dataset')
    .option('--epochs <n>', 'only this epoch budget')
    .option('--no-png', 'write SVG only')
    .option('--paper', "overlay the paper's points on Fig. 4 (ImageNet-LT)", false)
    .option('--paper-file <path>', "the paper's numbers (survey-tables.json)", DEFAULT_PAPER_FILE)
    .option('--checkpoint <which>', 'last-epoch or best-on-val checkpoint', choice(['last', 'best'] as const), 'last')
    .option('--rehearse', `only the records of \`sweep --rehearse\` (default --results ${DEFAULT_REHEARSAL_RESULTS}), in the real study's cells`, false)
    .action(async (opts: PlotOpts, cmd: Command) => {
      checkOutputDir(opts.out, '--out');
      // Rehearsal records never mix with real ones (src/rehearsal/records.ts).
      if (opts.rehearse && cmd.getOptionValueSource('results') === 'default') opts.results = DEFAULT_REHEARSAL_RESULTS;
      const { records, ignored } = selectRecords((await loadForCommand(opts.results)).records, opts.rehearse);
      const note = ignoredNote(ignored, opts.rehearse, opts.results);
      if (note) process.stderr.write(`${note}\n`);
      const selected = records.filter(
        (r) =>
          (!opts.dataset || r.dataset.name === opts.dataset || r.dataset.name === rehearsalDatasetName(opts.dataset)) && (!opts.epochs || r.epochs === Number(opts.epochs)),
      );
      const written = await writeAllFigures(selected, opts.out, {
        checkpoint: opts.checkpoint,
        paper: opts.paper ? await loadPaperTables(opts.paperFile) : null,
        kinds: opts.kind === 'all' ? ['fig4', 'per-class', 'curves', 'reliability'] : [opts.kind],
        png: opts.png,
        resultsDir: opts.results,
      });
      if (written.length === 0) process.stderr.write(`no figures: no finished runs in ${opts.results} match\n`);
      for (const w of written) process.stdout.write(`${w}\n`);
    });
}
