/** `lt-bench eval <run-dir>`: a run's checkpoint on another image list, or on its own split again. */
import type { Command } from 'commander';
import { evaluateRun, evaluateTestDistributions, parseDistributionList, UsageError } from '../index.js';
import { commonOptions } from './options.js';
import { createCliReporter } from './progress.js';

const pct = (v: number | null) => (v === null ? '—' : v.toFixed(2));

export function registerEval(program: Command): void {
  commonOptions(program.command('eval'), {
    dataRoot: { description: "folder the list's paths are relative to (default: the recipe's dataset.root, LT_BENCH_DATA)", aliases: ['--root'] },
  })
    .description("evaluate a run's checkpoint on an image list (or its recipe's test/val split again); writes eval-<list>.json beside run.json")
    .argument('<run-dir>', 'a run directory (results/<run-id>/)')
    .option('--list <file>', 'image list: "<relative path> <label>" per line')
    .option('--split <name>', "the recipe's own split: test | val")
    .option('--checkpoint <name>', 'last | best', 'last')
    .option('--backend <name>', 'force a backend: torch, tensorflow-gpu, tensorflow, wasm, cpu')
    .option('--test-distributions <names>', "add test-agnostic metrics to run.json: all, or a comma list (forward-50,uniform,backward-10,…); scored from the stored per-sample predictions (written first if missing)")
    .option('--json', 'print the result as JSON')
    .action(async (runDir: string, o: { list?: string; split?: string; dataRoot?: string; checkpoint: string; backend?: string; json?: boolean; testDistributions?: string }) => {
      if (o.checkpoint !== 'last' && o.checkpoint !== 'best') throw new UsageError(`eval --checkpoint ${o.checkpoint}: expected last or best`);
      if (o.testDistributions !== undefined) {
        if (o.list || o.split) throw new UsageError('eval: give --test-distributions alone, or one of --list / --split');
        const r = await evaluateTestDistributions(runDir, { names: parseDistributionList(o.testDistributions), checkpoint: o.checkpoint, root: o.dataRoot, backend: o.backend });
        if (o.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        for (const [name, m] of Object.entries(r.distributions)) {
          const g = m.groups;
          process.stdout.write(`${r.runId} (${r.checkpoint}) ${name}: top-1 ${pct(m.top1)}% over ${m.count} images; head ${pct(g.head)} / middle ${pct(g.middle)} / tail ${pct(g.tail)}\n`);
        }
        process.stdout.write(`${r.wrotePredictions ? 'wrote' : 'read'} ${r.predictionsFile}; added testDistributions.${r.checkpoint} to run.json\n`);
        return;
      }
      if (o.split !== undefined && o.split !== 'test' && o.split !== 'val') throw new UsageError(`eval --split ${o.split}: expected test or val`);
      const reporter = createCliReporter({ quiet: !!o.json });
      const r = await evaluateRun(runDir, { list: o.list, split: o.split as 'test' | 'val' | undefined, root: o.dataRoot, checkpoint: o.checkpoint, backend: o.backend, reporter });
      if (o.json) {
        process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
        return;
      }
      const what = 'list' in r.on ? r.on.list : `${r.on.split} split`;
      const g = r.metrics.groups;
      process.stdout.write(
        `${r.runId} (${r.checkpoint}) on ${what}: top-1 ${pct(r.metrics.top1)}% over ${r.metrics.count} images; head ${pct(g.head)} / middle ${pct(g.middle)} / tail ${pct(g.tail)}` +
          `${r.skipped ? `; ${r.skipped} unreadable image${r.skipped > 1 ? 's' : ''} skipped` : ''}` +
          `${r.metrics.ece !== undefined ? `; ECE ${pct(r.metrics.ece)}%, NLL ${r.metrics.nll!.toFixed(4)}` : ''}\nwrote ${r.file}\n` +
          `${r.recordAdded.length > 0 ? `added to ${r.runId}/run.json (it lacked them): ${r.recordAdded.join(', ')}\n` : ''}`,
      );
    });
}
