/**
 * `lt-bench table`: Tables 5–7 from the run records in a results directory (never trains).
 * A thin shell over `buildTables` + `formatTables`; `--figures DIR` also writes the figures.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { atTestDistribution, buildTables, buildTestDistributionTable, DEFAULT_REHEARSAL_RESULTS, EXTRA_COLUMNS, parseExtraColumns, retitle, TEST_DISTRIBUTION_NAMES, formatTables, ignoredNote, isImageNetLT, loadPaperTables, rehearsalDatasetName, rehearsalExpectedCells, selectRecords, TABLE_FORMATS, UsageError, type ExpectedCell, type TableFormat, type TableId } from '../index.js';
import { choice, DEFAULT_PAPER_FILE, DEFAULT_RESULTS_DIR, loadForCommand } from './results-common.js';
import { writeAllFigures } from './plot.js';
import { commonOptions } from './options.js';

export interface TableHooks {
  /** Cells the study expects (e.g. resolved from recipes/), so empty cells name their recipe. */
  expectedCells?: () => Promise<ExpectedCell[]>;
}

interface TableOpts {
  table: '5' | '6' | '7' | 'all';
  format: TableFormat;
  results: string;
  paper: boolean;
  paperFile: string;
  checkpoint: 'last' | 'best';
  dataset?: string;
  epochs?: string;
  out?: string;
  figures?: string;
  verbose: boolean;
  expected: boolean;
  rehearse: boolean;
  testDistribution?: string;
  columns?: string;
  metric?: string;
}

export function register(program: Command, hooks: TableHooks = {}): void {
  commonOptions(program.command('table'), { results: { default: DEFAULT_RESULTS_DIR } })
    .description('build Tables 5 (Acc/UA/RA), 6 (head/middle/tail) and 7 (stage-1 loss × classifier) from run records')
    .option('--table <which>', 'which table: 5, 6, 7 or all', choice(['5', '6', '7', 'all'] as const), 'all')
    .option('--format <format>', `output format: ${TABLE_FORMATS.join(', ')}`, choice(TABLE_FORMATS), 'md')
    .option('--paper', "add the paper's value and the difference (ImageNet-LT tables only)", false)
    .option('--paper-file <path>', "the paper's numbers (survey-tables.json)", DEFAULT_PAPER_FILE)
    .option('--checkpoint <which>', 'report the last-epoch or best-on-val checkpoint', choice(['last', 'best'] as const), 'last')
    .option('--dataset <name>', 'only this dataset')
    .option('--epochs <n>', 'only this epoch budget')
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--figures <dir>', 'also write the figures (SVG + PNG) into this directory')
    .option('--verbose', 'list skipped (unfinished) runs on stderr', false)
    .option('--expected', 'also print the tables no record fills yet (every study the recipes describe), with the recipes that fill them', false)
    .option('--test-distribution <name>', "cells from a test distribution's metrics (forward-50, uniform, backward-10, …; `lt-bench eval --test-distributions` adds them); all: one table, methods × distributions (overall accuracy)")
    .option('--columns <list>', `add columns to Table 5, comma-separated: ${EXTRA_COLUMNS.join(', ')} (ECE %, NLL; params / MACs per image in millions, test time unless -train)`)
    .option('--metric <list>', 'the same as --columns (e.g. --metric ece,nll)')
    .option('--rehearse', `only the records of \`sweep --rehearse\` (default --results ${DEFAULT_REHEARSAL_RESULTS}), in the real study's cells (imagenet-lt-rehearsal, 90/200 epochs)`, false)
    .action(async (opts: TableOpts, cmd: Command) => {
      let extraColumns;
      try {
        extraColumns = parseExtraColumns([opts.columns, opts.metric].filter(Boolean).join(','));
      } catch (e) {
        throw new UsageError(`--columns: ${(e as Error).message}`);
      }
      // Rehearsal records never mix with real ones (src/rehearsal/records.ts).
      if (opts.rehearse && cmd.getOptionValueSource('results') === 'default') opts.results = DEFAULT_REHEARSAL_RESULTS;
      const selected = selectRecords((await loadForCommand(opts.results, opts.verbose)).records, opts.rehearse);
      const note = ignoredNote(selected.ignored, opts.rehearse, opts.results);
      if (note) process.stderr.write(`${note}\n`);
      const records = selected.records;
      const epochs = opts.epochs === undefined ? undefined : Number(opts.epochs);
      if (epochs !== undefined && !(Number.isInteger(epochs) && epochs > 0)) throw new UsageError(`--epochs ${opts.epochs}: expected a positive integer`);
      const keep = (dataset: string, e: number) => (!opts.dataset || dataset === opts.dataset || dataset === rehearsalDatasetName(opts.dataset)) && (epochs === undefined || e === epochs);
      const rows = records.filter((r) => keep(r.dataset.name, r.epochs));
      const study = hooks.expectedCells ? await hooks.expectedCells() : [];
      const expected = (opts.rehearse ? rehearsalExpectedCells(study) : study).filter((e) => keep(e.dataset, e.epochs));
      if (opts.testDistribution !== undefined && opts.testDistribution !== 'all' && !TEST_DISTRIBUTION_NAMES.includes(opts.testDistribution)) throw new UsageError(`--test-distribution ${opts.testDistribution}: expected all or one of ${TEST_DISTRIBUTION_NAMES.join(', ')}`);
      const td = opts.testDistribution;
      const tables = td === 'all' ? buildTestDistributionTable(rows, { checkpoint: opts.checkpoint }) : td ? retitle(buildTables(atTestDistribution(rows, td), {
        checkpoint: opts.checkpoint,
        tables: opts.table === 'all' ? [5, 6] : [Number(opts.table) as TableId],
        referenceRecords: atTestDistribution(records, td),
        onlyWithRecords: true,
      }), td) : buildTables(rows, {
        checkpoint: opts.checkpoint,
        // The paper's numbers are ImageNet-LT's: --dataset naming another dataset leaves them out.
        paper: opts.paper && (!opts.dataset || isImageNetLT(opts.dataset)) ? await loadPaperTables(opts.paperFile) : null,
        expected,
        tables: opts.table === 'all' ? [5, 6, 7] : [Number(opts.table) as TableId],
        referenceRecords: records,
        // Only tables with a record, unless every expected table is asked for (--paper keeps ImageNet-LT's).
        onlyWithRecords: !opts.expected,
        extraColumns,
      });
      if (td && tables.length === 0) process.stderr.write(`no record in ${opts.results} holds test distribution ${td === 'all' ? 'metrics' : td}; add them with lt-bench eval <run-dir> --test-distributions ${td}\n`);
      if (tables.length === 0) process.stderr.write(`no finished long-tailed runs in ${opts.results}${opts.dataset ? ` for ${opts.dataset}` : ''}${expected.length > 0 ? '; --expected lists the tables the recipes would fill, --paper the paper\'s ImageNet-LT tables' : ''}\n`);
      const text = formatTables(tables, opts.format);
      if (opts.out) await writeFile(opts.out, text);
      else process.stdout.write(text);
      if (opts.figures) {
        const written = await writeAllFigures(records, opts.figures, { checkpoint: opts.checkpoint, paper: opts.paper ? await loadPaperTables(opts.paperFile) : null, resultsDir: opts.results });
        for (const w of written) process.stderr.write(`wrote ${w}\n`);
      }
    });
}
