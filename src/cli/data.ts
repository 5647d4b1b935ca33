/**
 * `lt-bench data stats|verify|make`: facts about a long-tailed split before hours of training
 * are spent on it. Thin shells over src/data/ (manifests, verify, make-lists).
 */
import { InvalidArgumentError, type Command } from 'commander';
import {
  checkDataDir,
  checkOutputDir,
  CLASS_FOLDER_DEFAULTS,
  classesBeside,
  countStats,
  DataError,
  ensureRehearsalDataset,
  IN_MEMORY_DATASETS,
  KNOWN_MANIFESTS,
  labelCounts,
  loadDataset,
  loadManifest,
  loadRecipe,
  makeClassFolderLongTail,
  makeImageNetLt,
  manifestStats,
  recipeSplit,
  UsageError,
  verifyLists,
  writeLongTailLists,
  type DatasetManifest,
  type InMemoryDataset,
} from '../index.js';
import { commonOptions } from './options.js';

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${text}\n`);
}

/** A commander parser for a whole number >= min (a bad value is a usage error, exit 2). */
function wholeNumber(min: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected a whole number >= ${min}`);
    return n;
  };
}

const isManifest = (name: string) => (KNOWN_MANIFESTS as readonly string[]).includes(name);
const isInMemory = (name: string): name is InMemoryDataset => (IN_MEMORY_DATASETS as readonly string[]).includes(name);

/** Classes of a list-only dataset: --num-classes, else the classes.txt `data make` wrote beside the lists. */
function imageListClasses(numClasses: number | undefined, lists: Array<string | undefined>): number {
  if (numClasses !== undefined) return numClasses;
  for (const f of lists) {
    const beside = f ? classesBeside(f) : null;
    if (beside) {
      if (beside.classes.length === 0) throw new DataError(`${beside.file}: no class names (expected one class name per line)`, beside.file);
      return beside.classes.length;
    }
  }
  throw new UsageError('data verify --dataset image-list: give --num-classes N (or keep the classes.txt that data make writes beside the lists)');
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
  commonOptions(data.command('stats'), { dataRoot: { description: 'dataset directory (with --recipe, or --dataset cifar10 ...; also LT_BENCH_DATA)' } })
    .description('per-class counts, group sizes, imbalance ratio and a checksum: of a known dataset (from its manifest, no images needed) or of a recipe\'s split')
    .option('--dataset <name>', `a known dataset: ${KNOWN_MANIFESTS.join(', ')} (from the manifest), or ${IN_MEMORY_DATASETS.join(', ')} (its full train set, read from --data-root)`)
    .option('--recipe <file>', "a recipe: the split it trains on (reads the dataset's files)")
    .option('--json', 'machine-readable output (classCounts: the train images per class, index = label)')
    .action((o: { dataset?: string; recipe?: string; dataRoot?: string; json?: boolean }) => {
      if (!!o.dataset === !!o.recipe) throw new UsageError('data stats: give exactly one of --dataset NAME or --recipe FILE');
      if (o.dataRoot !== undefined) checkDataDir(o.dataRoot, '--data-root');
      if (o.dataset && isInMemory(o.dataset)) {
        const src = loadDataset(o.dataset, { dataRoot: o.dataRoot });
        const counts = labelCounts(Array.from(src.train.labels, (label) => ({ label })), src.numClasses);
        const testCounts = labelCounts(Array.from(src.test.labels, (label) => ({ label })), src.numClasses);
        const s = countStats(counts);
        print(!!o.json, { name: src.name, numClasses: src.numClasses, files: src.files, classCounts: counts, train: s, test: { total: src.test.count, classCounts: testCounts } },
          `${describeCounts(`${src.name}: the full train set (a recipe's long-tailed split: data stats --recipe FILE)`, s)}\n  per class ${counts.join(', ')}\n  test: ${src.test.count} images, per class ${testCounts.join(', ')}`);
        return;
      }
      if (o.dataset) {
        if (!isManifest(o.dataset))
          throw new UsageError(`data stats --dataset ${o.dataset}: expected one of ${[...KNOWN_MANIFESTS, ...IN_MEMORY_DATASETS].join(', ')}${o.dataset === 'image-list' ? ' (an image-list dataset has no fixed split: use --recipe FILE)' : ''}`);
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
      print(!!o.json, { ...s, classCounts: split.classCounts, splitChecksum: split.checksum, sizes: { train: split.indices.train.length, val: split.indices.val.length, test: split.indices.test.length } },
        `${describeCounts(`${recipe.name}: ${recipe.dataset.name} train split${recipe.dataset.balanced ? ' (balanced twin)' : ''}`, s)}\n  per class ${split.classCounts.join(', ')}\n  split checksum ${split.checksum}`);
    });
  commonOptions(data.command('verify'), { dataRoot: { description: 'image root the list paths are relative to (enables the image checks)', aliases: ['--root'] } })
    .description('check image lists: parse, paths inside the root, labels in range, duplicates, val/test images in train, counts against the manifest, missing or unreadable images (exit 3 when a check fails)')
    .requiredOption('--dataset <name>', `a known dataset: ${KNOWN_MANIFESTS.join(', ')} (counts checked against its manifest), or image-list (your own lists, e.g. from data make class-folder)`)
    .option('--num-classes <n>', 'classes, with --dataset image-list (default: the lines of the classes.txt beside the lists)', wholeNumber(1))
    .option('--train <file>', 'train list')
    .option('--val <file>', 'val list')
    .option('--test <file>', 'test list')
    .option('--balanced <file>', 'balanced-twin train list')
    .option('--images <mode>', 'none | header | decode', 'header')
    .option('--json', 'machine-readable output')
    .action(async (o: { dataset: string; numClasses?: number; train?: string; val?: string; test?: string; balanced?: string; dataRoot?: string; images: 'none' | 'header' | 'decode'; json?: boolean }) => {
      if (o.dataset !== 'image-list' && !isManifest(o.dataset))
        throw new UsageError(`data verify --dataset ${o.dataset}: expected one of ${[...KNOWN_MANIFESTS, 'image-list'].join(', ')}`);
      if (!['none', 'header', 'decode'].includes(o.images)) throw new UsageError(`data verify --images ${o.images}: expected none, header or decode`);
      const lists = { train: o.train, val: o.val, test: o.test, balanced: o.balanced };
      if (!Object.values(lists).some(Boolean)) throw new UsageError('data verify: give at least one of --train, --val, --test, --balanced');
      let manifest: DatasetManifest | undefined;
      let numClasses: number;
      if (o.dataset === 'image-list') numClasses = imageListClasses(o.numClasses, Object.values(lists));
      else {
        manifest = loadManifest(o.dataset);
        if (o.numClasses !== undefined && o.numClasses !== manifest.numClasses)
          throw new UsageError(`data verify --num-classes ${o.numClasses}: ${o.dataset} has ${manifest.numClasses} classes`);
        numClasses = manifest.numClasses;
      }
      const report = await verifyLists({ numClasses, lists, root: o.dataRoot, manifest, images: o.dataRoot ? o.images : 'none' });
      const text = [
        ...report.lists.map((l) => `${l.split}: ${l.file}, ${l.lines} lines, sha256 ${l.sha256}${l.matchesOfficial === null ? '' : l.matchesOfficial ? ' (the official list)' : ' (NOT the official list)'}`),
        ...report.checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.message}${c.examples.length ? `\n       ${c.examples.join('\n       ')}` : ''}`),
      ].join('\n');
      print(!!o.json, report, text);
      const failed = report.checks.filter((c) => !c.ok);
      if (failed.length > 0) throw new DataError(`data verify: ${failed.map((c) => c.name).join(', ')} failed; first: ${failed[0].examples[0] ?? failed[0].message}`);
    });
  commonOptions(data.command('make'), { dataRoot: { description: 'ImageNet-2012 root (train/, val/) or the class-folder root (not for rehearsal)', aliases: ['--root'] } })
    .description('sample long-tailed lists: imagenet-lt (the manifest\'s exact per-class counts + the 115/class balanced twin) or a Pareto split of a class-folder dataset; rehearsal: generate the synthetic ImageNet-LT that --rehearse trains on')
    .argument('<kind>', 'imagenet-lt | class-folder | rehearsal')
    .requiredOption('--out <dir>', 'where the lists are written (rehearsal: the dataset folder, new or empty)')
    .option('--seed <n>', 'sampling seed', wholeNumber(0), 0)
    .option('--test-per-class <n>', `class-folder: test images held out per class (default ${CLASS_FOLDER_DEFAULTS.testPerClass})`, wholeNumber(1))
    .option('--val-per-class <n>', `class-folder: val images held out per class (default ${CLASS_FOLDER_DEFAULTS.valPerClass})`, wholeNumber(0))
    .action(async (kind: string, o: { dataRoot?: string; out: string; seed: number; testPerClass?: number; valPerClass?: number }) => {
      if (!['imagenet-lt', 'class-folder', 'rehearsal'].includes(kind)) throw new UsageError(`data make ${kind}: expected imagenet-lt, class-folder or rehearsal`);
      // The root is checked by the make functions, whose errors say which layout they expected.
      checkOutputDir(o.out, '--out');
      if (kind === 'rehearsal') {
        const { root, info, created } = await ensureRehearsalDataset(o.out, { seed: o.seed });
        const m = info.manifest;
        process.stdout.write(`${created ? 'wrote' : 'exists'}: ${root} (${m.numClasses} classes, ${m.total} train images, head/middle/tail ${m.groups!.head}/${m.groups!.middle}/${m.groups!.tail}, thresholds head > ${m.groupThresholds.head}, tail < ${m.groupThresholds.tail})\n`);
        for (const [k, f] of Object.entries(info.lists)) process.stdout.write(`${k}: ${root}/${f}\n`);
        return;
      }
      if (!o.dataRoot) throw new UsageError(`data make ${kind}: --data-root DIR is required`);
      let lists;
      if (kind === 'imagenet-lt') {
        // ImageNet-LT's sizes are the manifest's: val 20/class from train, test = ImageNet's val set.
        if (o.testPerClass !== undefined || o.valPerClass !== undefined)
          throw new UsageError('data make imagenet-lt: --test-per-class and --val-per-class are for class-folder (ImageNet-LT\'s sizes are fixed by its manifest)');
        lists = await makeImageNetLt({ imagenetRoot: o.dataRoot, seed: o.seed });
      } else lists = await makeClassFolderLongTail({ root: o.dataRoot, seed: o.seed, testPerClass: o.testPerClass, valPerClass: o.valPerClass });
      const files = await writeLongTailLists(o.out, kind === 'imagenet-lt' ? 'ImageNet_LT' : 'LT', lists);
      for (const [k, f] of Object.entries(files)) process.stdout.write(`${k}: ${f}\n`);
    });
}
