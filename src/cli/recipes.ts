/**
 * `lt-bench recipes [dir]`: the recipes shipped with lt-bench (or those under `dir`) with method,
 * dataset, backbone and epoch budget. One that does not load is listed with its error (and the
 * command exits 2); the others still are.
 */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { epochsText, listRecipes, RecipeError, SHIPPED_RECIPES_DIR, UsageError } from '../index.js';

export function registerRecipes(program: Command): void {
  program
    .command('recipes')
    .description('list the shipped recipes (or those under DIR): method, dataset, backbone, epoch budget; a recipe that does not load is listed with its error (exit 2)')
    .argument('[dir]', 'directory of recipes (default: the recipes shipped with lt-bench)')
    .option('--json', 'machine-readable output')
    .action((dirArg: string | undefined, o: { json?: boolean }) => {
      const dir = dirArg ?? SHIPPED_RECIPES_DIR;
      let st;
      try {
        st = statSync(dir);
      } catch {
        throw new UsageError(`${dir}: no such directory`);
      }
      if (!st.isDirectory()) throw new UsageError(`${dir}: not a directory`);
      const rows = listRecipes(dir);
      if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else {
        const cells = rows.map((r) =>
          r.error
            ? [r.file, `ERROR ${r.error}`]
            : [r.file, r.method!, r.dataset!, r.backbone!, `${epochsText(r.epochs!)}${r.stage2 ? ` + ${r.stage2.strategy}${r.stage2.epochs > 0 ? ` ${r.stage2.epochs}` : ''}` : ''}${r.reference === 'auto' ? '  (+ balanced references)' : ''}`],
        );
        const widths = [0, 1, 2, 3].map((i) => Math.max(...cells.filter((c) => c.length > 2).map((c) => c[i].length), 0));
        for (const c of cells) process.stdout.write(`${c.length > 2 ? c.map((x, i) => (i < 4 ? x.padEnd(widths[i]) : x)).join('  ') : c.join('  ')}\n`);
      }
      const bad = rows.filter((r) => r.error);
      if (bad.length > 0) throw new RecipeError(`${bad.length} of ${rows.length} recipe(s) under ${dir} do not load`);
    });
}
