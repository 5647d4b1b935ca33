import type { Command } from 'commander';
import { loadRecipe, runRecipe } from '../index.js';
import { describeDryRun } from './dry-run.js';
import { createCliReporter } from './progress.js';
import { formatRunResult } from './format.js';
import { withInterruptSignal } from './interrupt.js';
import { commonOptions, intOption, withWorkers, WORKERS_HELP } from './options.js';

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

export function registerRun(program: Command): void {
  commonOptions(program.command('run'), {
    dataRoot: {},
    results: { description: 'results directory (default: the recipe\'s output, "results")', aliases: ['--output'] },
  })
    .description('train and evaluate a recipe; reuses a finished record, resumes an unfinished one')
    .argument('<recipe>', 'recipe YAML file')
    .option('--set <key=value>', 'override a recipe key (repeatable), e.g. --set train.epochs=5', collect, [])
    .option('--backend <name>', 'force a backend: torch, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--workers <n>', WORKERS_HELP, intOption('--workers', 0))
    .option('--wait', 'if another trainer holds this run, wait for it (then reuse or resume) instead of failing')
    .option('--force', 'train again into a new run id even if a record exists')
    .option('--dry-run', 'print the resolved recipe (defaults filled in), its hash, the run id and the reference runs it would train; do not train')
    .option('--json', 'print run.json to stdout (no progress output)')
    .option('--quiet', 'no progress output')
    .action(async (file: string, o: { set: string[]; dataRoot?: string; results?: string; backend?: string; workers?: number; force?: boolean; wait?: boolean; dryRun?: boolean; json?: boolean; quiet?: boolean }) => {
      const loaded = loadRecipe(file, { sets: o.set });
      const recipe = withWorkers(loaded.recipe, o.workers);
      const abs = loaded.file;
      if (o.dryRun) {
        const text = describeDryRun(recipe, abs, { output: o.results, dataRoot: o.dataRoot });
        // Warnings also on stderr, where they are seen when stdout is piped into a file.
        for (const w of text.split('\n').filter((l) => l.startsWith('# warning: '))) process.stderr.write(`${w.slice(2)}\n`);
        process.stdout.write(text);
        return;
      }
      const result = await withInterruptSignal((signal) =>
        runRecipe(recipe, {
          dataRoot: o.dataRoot,
          output: o.results,
          backend: o.backend,
          force: o.force,
          wait: o.wait,
          reporter: createCliReporter({ quiet: !!(o.json || o.quiet) }),
          signal,
          recipePath: abs,
        }),
      );
      process.stdout.write(o.json ? `${JSON.stringify(result.record, null, 2)}\n` : `${formatRunResult(result)}\n`);
    });
}
