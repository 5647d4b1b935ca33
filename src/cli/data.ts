/**
 * `lt-bench data stats|verify|make`: facts about a long-tailed split before hours of training
 * are spent on it. Thin shells over src/data/ (manifests, verify, make-lists).
 */
import type { Command } from 'commander';
import { DataError, UsageError } from '../errors.js';
import { countStats, KNOWN_MANIFESTS, loadManifest, manifestStats } from '../data/manifests.js';
import { makeClassFolderLongTail, makeImageNetLt, writeLongTailLists } from '../data/make-lists.js';
import { verifyLists } from '../data/verify.js';
import { loadRecipe } from '../recipe/load.js';
import { recipeSplit } from '../data/run-data.js';
import { ensureRehearsalDataset } from '../rehearsal/dataset.js';

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

function describeCounts(title: string, s: ReturnType<typeof countStats>): string {
  return [
    title,
    `  classes ${s.numClasses}, images ${s.total}, max ${s.max}, min ${s.min}, imbalance ratio ${+s.imbalanceRatio.toFixed(2)}`,
    `  head/middle/tail classes ${s.groups.head}/${s.groups.middle}/${s.groups.tail}`,
    `  counts checksum ${s.checksum}`,
  ].join('\n');
}

export function registerData(program: Command): void {
  const data = program.command('data').description('per-class counts, group sizes and checks of long-tailed splits');
  data
    .command('stats')
    .description('per-class counts, group sizes, imbalance ratio and a checksum: of a known dataset (from its manifest, no images needed) or of a recipe\'s split')
    .option('--dataset <name>', `a known dataset: ${KNOWN_MANIFESTS.join(', ')}`)
    .option('--recipe <file>', "a recipe: the split it trains on (reads the dataset's files)")
    .option('--data-root <dir>', 'dataset directory (with --recipe)')
    .option('--json', 'machine-readable output')
    .action((o: { dataset?: string; recipe?: string; dataRoot?: string; json?: boolean }) => {
      if (!!o.dataset === !!o.recipe) throw new UsageError('data stats: give exactly one of --dataset NAME or --recipe FILE');
      if (o.dataset) {
        const m = manifestStats(loadManifest(o.dataset));
        const text = m.train
          ? describeCounts(`${m.title} train split (manifest)`, m.train)
          : `${m.title}: per-class counts unknown; stated total ${m.stated.total}, max ${m.stated.max}, min ${m.stated.min}, ratio ${m.stated.imbalanceRatio}`;
        const splits = Object.entries(m.splits).map(([k, v]) => `  ${k}: ${v.file}, ${v.lines} lines`).join('\n');
        print(!!o.json, m, `${text}\n${splits}`);
        return;
      }
      const { recipe } = loadRecipe(o.recipe!);
      const split = recipeSplit(recipe, o.dataRoot);
      const s = countStats(split.classCounts, recipe.eval.thresholds);
      print(!!o.json, { ...s, splitChecksum: split.checksum, sizes: { train: split.indices.train.length, val: split.indices.val.length, test: split.indices.test.length } },
        `${describeCounts(`${recipe.name}: ${recipe.dataset.name} train split${recipe.dataset.balanced ? ' (balanced twin)' : ''}`, s)}\n  per class ${split.classCounts.join(', ')}\n  split checksum ${split.checksum}`);
    });
  data
    .command('verify')
    .description('check image lists: parse, labels in range, duplicates, val/test images in train, counts against the manifest, missing or unreadable images (exit 3 when a check fails)')
    .requiredOption('--dataset <name>', `a known dataset: ${KNOWN_MANIFESTS.join(', ')}`)
    .option('--train <file>', 'train list')
    .option('--val <file>', 'val list')
    .option('--test <file>', 'test list')
    .option('--balanced <file>', 'balanced-twin train list')
    .option('--root <dir>', 'image root the list paths are relative to (enables the image checks)')
    .option('--images <mode>', 'none | header | decode', 'header')
    .option('--json', 'machine-readable output')
    .action(async (o: { dataset: string; train?: string; val?: string; test?: string; balanced?: string; root?: string; images: 'none' | 'header' | 'decode'; json?: boolean }) => {
      const manifest = loadManifest(o.dataset);
      const lists = { train: o.train, val: o.val, test: o.test, balanced: o.balanced };
      if (!Object.values(lists).some(Boolean)) throw new UsageError('data verify: give at least one of --train, --val, --test, --balanced');
      const report = await verifyLists({ numClasses: manifest.numClasses, lists, root: o.root, manifest, images: o.root ? o.images : 'none' });
      const text = [
        ...report.lists.map((l) => `${l.split}: ${l.file}, ${l.lines} lines, sha256 ${l.sha256}${l.matchesOfficial === null ? '' : l.matchesOfficial ? ' (the official list)' : ' (NOT the official list)'}`),
        ...report.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}${c.examples.length ? `\n       ${c.examples.join('\n       ')}` : ''}`),
      ].join('\n');
      print(!!o.json, report, text);
      if (!report.ok) throw new DataError(`data verify: ${report.checks.filter((c) => !c.ok).map((c) => c.name).join(', ')} failed`);
    });
  data
    .command('make')
    .description('sample long-tailed lists: imagenet-lt (the manifest\'s exact per-class counts + the 115/class balanced twin) or a Pareto split of a class-folder dataset; rehearsal: generate the synthetic ImageNet-LT that --rehearse trains on')
    .argument('<kind>', 'imagenet-lt | class-folder | rehearsal')
    .option('--root <dir>', 'ImageNet-2012 root (train/, val/) or the class-folder root (not for rehearsal)')
    .requiredOption('--out <dir>', 'where the lists are written (rehearsal: the dataset folder, new or empty)')
    .option('--seed <n>', 'sampling seed', (v: string) => Number(v), 0)
    .action(async (kind: string, o: { root?: string; out: string; seed: number }) => {
      if (!['imagenet-lt', 'class-folder', 'rehearsal'].includes(kind)) throw new UsageError(`data make ${kind}: expected imagenet-lt, class-folder or rehearsal`);
      if (kind === 'rehearsal') {
        const { root, info, created } = await ensureRehearsalDataset(o.out, { seed: o.seed });
        const m = info.manifest;
        process.stdout.write(`${created ? 'wrote' : 'exists'}: ${root} (${m.numClasses} classes, ${m.total} train images, head/middle/tail ${m.groups!.head}/${m.groups!.middle}/${m.groups!.tail}, thresholds head > ${m.groupThresholds.head}, tail < ${m.groupThresholds.tail})\n`);
        for (const [k, f] of Object.entries(info.lists)) process.stdout.write(`${k}: ${root}/${f}\n`);
        return;
      }
      if (!o.root) throw new UsageError(`data make ${kind}: --root DIR is required`);
      const root = o.root;
      let lists;
      if (kind === 'imagenet-lt') lists = await makeImageNetLt({ imagenetRoot: root, seed: o.seed });
      else lists = await makeClassFolderLongTail({ root, seed: o.seed });
      const files = await writeLongTailLists(o.out, kind === 'imagenet-lt' ? 'ImageNet_LT' : 'LT', lists);
      for (const [k, f] of Object.entries(files)) process.stdout.write(`${k}: ${f}\n`);
    });
}
